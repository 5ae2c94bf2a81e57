//! Linux errno names and numbers, for conditions such as `P0:r0 == -EFAULT`.
//!
//! The table holds every name in asm-generic `errno-base.h` and `errno.h` (the values every
//! architecture but alpha, mips, parisc and sparc uses), the two aliases there, and the
//! kernel-internal codes of `include/linux/errno.h` that can leak out of kernel calls
//! (`-ENOTSUPP`, `-ERESTARTSYS`, ...).

use serde::Serialize;

/// A named errno. Registers hold `value()`, the negative number, as the kernel returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Errno {
    /// The name without the minus sign, e.g. `EFAULT`.
    pub name: &'static str,
    /// The positive errno number, e.g. 14.
    pub number: i32,
}

impl Errno {
    /// Looks up a name such as `EFAULT` (no minus sign).
    pub fn from_name(name: &str) -> Option<Errno> {
        ERRNOS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(name, number)| Errno { name, number })
    }

    /// The canonical name for an errno number (the first one the table lists for it).
    pub fn from_number(number: i32) -> Option<Errno> {
        ERRNOS
            .iter()
            .find(|(_, n)| *n == number)
            .map(|&(name, number)| Errno { name, number })
    }

    /// What a kernel call returns for this error: `-number`.
    pub fn value(self) -> i64 {
        -i64::from(self.number)
    }

    /// All names, for did-you-mean suggestions.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ERRNOS.iter().map(|(n, _)| *n)
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "-{}", self.name)
    }
}

/// (name, number). Canonical names come before their aliases.
const ERRNOS: &[(&str, i32)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
    // Aliases in asm-generic/errno.h.
    ("EWOULDBLOCK", 11),
    ("EDEADLOCK", 35),
    // Kernel-internal codes (include/linux/errno.h); never seen by user space from a
    // syscall, but GUP and driver paths can return them to kernel callers.
    ("ERESTARTSYS", 512),
    ("ERESTARTNOINTR", 513),
    ("ERESTARTNOHAND", 514),
    ("ENOIOCTLCMD", 515),
    ("ERESTART_RESTARTBLOCK", 516),
    ("EPROBE_DEFER", 517),
    ("EOPENSTALE", 518),
    ("ENOPARAM", 519),
    ("EBADHANDLE", 521),
    ("ENOTSYNC", 522),
    ("EBADCOOKIE", 523),
    ("ENOTSUPP", 524),
    ("ETOOSMALL", 525),
    ("ESERVERFAULT", 526),
    ("EBADTYPE", 527),
    ("EJUKEBOX", 528),
    ("EIOCBQUEUED", 529),
    ("ERECALLCONFLICT", 530),
    ("ENOGRACE", 531),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_errnos() {
        assert_eq!(Errno::from_name("EPERM").unwrap().number, 1);
        assert_eq!(Errno::from_name("EFAULT").unwrap().value(), -14);
        assert_eq!(Errno::from_name("EAGAIN").unwrap().number, 11);
        assert_eq!(Errno::from_name("EOPNOTSUPP").unwrap().number, 95);
        assert_eq!(Errno::from_name("EHWPOISON").unwrap().number, 133);
        assert_eq!(Errno::from_name("ENOTSUPP").unwrap().number, 524);
        assert_eq!(Errno::from_name("EWOULDBLOCK").unwrap().number, 11);
        assert_eq!(Errno::from_number(11).unwrap().name, "EAGAIN");
        assert_eq!(Errno::from_name("EBOGUS"), None);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Errno::names().collect();
        let before = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
