//! Lay a wheel out as dh-python would install it and describe the `.deb` to write.
