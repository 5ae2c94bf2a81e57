//! The errno values the modelled paths return (include/uapi/asm-generic/errno*.h).

use serde::Serialize;
use std::fmt;

/// A kernel error number, kept as the positive value; returned as `-errno`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Errno {
    EPERM = 1,
    EINTR = 4,
    EIO = 5,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    EINVAL = 22,
    EMLINK = 31,
    EOPNOTSUPP = 95,
    EOVERFLOW = 75,
    EREMOTEIO = 121,
    EHWPOISON = 133,
}

impl Errno {
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::EINTR => "EINTR",
            Errno::EIO => "EIO",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::EMLINK => "EMLINK",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EOVERFLOW => "EOVERFLOW",
            Errno::EREMOTEIO => "EREMOTEIO",
            Errno::EHWPOISON => "EHWPOISON",
        }
    }

    /// The value a syscall or kernel call returns: `-errno`.
    pub fn ret(self) -> i64 {
        -(self as i64)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.name())
    }
}
