fn main() {
    std::process::exit(py2deb::cli::main());
}
