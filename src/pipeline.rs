//! The build pipeline: resolve → fetch → inspect → map → assemble → write.
