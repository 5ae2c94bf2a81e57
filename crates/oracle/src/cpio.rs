//! A minimal writer for the "newc" cpio format the kernel unpacks as an initramfs.

/// Builds a newc archive in memory.
#[derive(Default)]
pub struct CpioWriter {
    buf: Vec<u8>,
    ino: u32,
}

impl CpioWriter {
    pub fn new() -> CpioWriter {
        CpioWriter {
            buf: Vec::new(),
            ino: 1,
        }
    }

    /// Adds a directory.
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, &[], 0, 0);
    }

    /// Adds a regular file with `mode` permission bits.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data, 0, 0);
    }

    /// Adds a character device node.
    pub fn char_dev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, &[], major, minor);
    }

    /// Writes the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], 0, 0);
        while self.buf.len() % 512 != 0 {
            self.buf.push(0);
        }
        self.buf
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rmajor: u32, rminor: u32) {
        let ino = self.ino;
        self.ino += 1;
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len() as u32,
            0,
            0,
            rmajor,
            rminor,
            name.len() as u32 + 1,
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad4();
        self.buf.extend_from_slice(data);
        self.pad4();
    }

    fn pad4(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut w = CpioWriter::new();
        w.file("init", 0o755, b"abc");
        let a = w.finish();
        assert_eq!(&a[..6], b"070701");
        assert_eq!(a.len() % 512, 0);
        // name follows the 110-byte header
        assert_eq!(&a[110..114], b"init");
    }
}
