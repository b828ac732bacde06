//! Quicklook pictures and detection chips (work in progress).
