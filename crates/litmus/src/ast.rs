//! The typed syntax tree of one litmus test.
//!
//! Every statement, operation, condition and reference carries its [`Span`], so later
//! stages (the model, the explorer) can point back into the file. Option defaults are
//! already applied: a `ttm` without `caching=` has `caching: Caching::Cached`.

use serde::Serialize;

use crate::errno::Errno;
use crate::keyword::keyword_enum;
use crate::span::{Span, Spanned};

/// A name as written (object, mapping, test), with its span.
pub type Name = Spanned<String>;

/// The page size the format's sizes and page indices are counted in.
pub const PAGE_SIZE: u64 = 4096;

/// The largest value a page holds (`write`, `dma_write`): the model keeps one byte per page.
pub const MAX_PAGE_VALUE: u64 = 255;

/// One parsed litmus test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Test {
    /// From `mm-litmus NAME`.
    pub name: Name,
    /// From `kernel VERSION`, if present.
    pub kernel: Option<Spanned<KernelVersion>>,
    /// Each `doc "TEXT"`, in order.
    pub docs: Vec<Spanned<String>>,
    /// The statements of `setup { ... }`, in order (empty when there is no setup block).
    pub setup: Vec<SetupStmt>,
    /// `P0`, `P1`, ... in order: `threads[i]` is `Pi`.
    pub threads: Vec<Thread>,
    /// `exists` / `forbid` / `forall` lines, in order.
    pub conditions: Vec<Condition>,
}

impl Test {
    /// The object declared as `name` in setup, if any.
    pub fn object(&self, name: &str) -> Option<&Object> {
        self.setup.iter().find_map(|stmt| match &stmt.kind {
            SetupKind::Object(object) if object.name.node == name => Some(object),
            _ => None,
        })
    }

    /// The mapping declared as `name` in setup, if any.
    pub fn mapping(&self, name: &str) -> Option<&Mmap> {
        self.setup.iter().find_map(|stmt| match &stmt.kind {
            SetupKind::Mmap(mmap) if mmap.name.node == name => Some(mmap),
            _ => None,
        })
    }

    /// The size in bytes of an object, following a dma-buf to what it exports.
    pub fn object_size(&self, name: &str) -> Option<u64> {
        let mut object = self.object(name)?;
        // A dma-buf chain is at most one deep after checking; the bound guards bad input.
        for _ in 0..8 {
            match &object.kind {
                ObjectKind::DmaBuf(dmabuf) => object = self.object(&dmabuf.exports.node)?,
                other => return other.own_size(),
            }
        }
        None
    }
}

/// A kernel release, as in `kernel 6.12` or `kernel debian-6.1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelVersion {
    /// The text as written, e.g. `5.11`, `6.1.0`, `debian-6.1`.
    pub raw: String,
    /// Whose kernel: upstream, or a distribution's build of that release.
    pub flavor: KernelFlavor,
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

keyword_enum! {
    /// Which tree a kernel version names.
    pub enum KernelFlavor {
        /// Plain `X.Y`: the upstream release.
        Upstream = "upstream",
        /// `debian-X.Y`: Debian's kernel package of that release (an extension).
        Debian = "debian",
    }
}

/// One statement of the setup block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetupStmt {
    pub kind: SetupKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupKind {
    /// `ttm`, `dmabuf`, `driver`, `anon`, `memfd`.
    Object(Object),
    /// `mmap NAME OBJECT ...`.
    Mmap(Mmap),
    /// `thp always|madvise|never`.
    Thp(ThpMode),
    /// A thread operation run during setup.
    Op(OpKind),
}

/// A named object declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Object {
    pub name: Name,
    pub kind: ObjectKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Ttm(Ttm),
    DmaBuf(DmaBuf),
    Driver(Driver),
    Anon { size: u64 },
    Memfd { size: u64 },
}

impl ObjectKind {
    /// The statement keyword that declares this kind of object.
    pub fn keyword(&self) -> &'static str {
        match self {
            ObjectKind::Ttm(_) => "ttm",
            ObjectKind::DmaBuf(_) => "dmabuf",
            ObjectKind::Driver(_) => "driver",
            ObjectKind::Anon { .. } => "anon",
            ObjectKind::Memfd { .. } => "memfd",
        }
    }

    /// The size the declaration itself gives (a dma-buf has none of its own).
    pub fn own_size(&self) -> Option<u64> {
        match self {
            ObjectKind::Ttm(ttm) => Some(ttm.size),
            ObjectKind::Driver(driver) => Some(driver.size),
            ObjectKind::Anon { size } | ObjectKind::Memfd { size } => Some(*size),
            ObjectKind::DmaBuf(_) => None,
        }
    }
}

/// `ttm NAME size=SIZE place=system|vram [caching=] [huge=] [pfn=]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ttm {
    pub size: u64,
    pub place: Placement,
    pub caching: Caching,
    pub huge: HugeLevel,
    /// Only `dev` and `dev+map` are accepted for TTM.
    pub pfn: PfnFlags,
}

/// `dmabuf NAME exports OBJECT [require_pfnmap]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DmaBuf {
    pub exports: Name,
    pub require_pfnmap: bool,
}

/// `driver NAME size=SIZE insert=METHOD [vm=FLAGS] [pfn=] [memory=] [dax]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Driver {
    pub size: u64,
    pub insert: InsertMethod,
    /// `None`: the flags the insert method needs.
    pub vm: Option<VmFlagSet>,
    pub pfn: PfnFlags,
    pub memory: MemoryKind,
    pub dax: bool,
}

keyword_enum! {
    /// Where a TTM object's backing lives (`place=`, `evict ... to=`).
    pub enum Placement {
        System = "system",
        Vram = "vram",
    }
}

keyword_enum! {
    /// TTM page caching mode (`caching=`).
    pub enum Caching {
        Cached = "cached",
        Wc = "wc",
        Uc = "uc",
    }
}

keyword_enum! {
    /// Whether the driver inserts huge entries (`huge=`).
    pub enum HugeLevel {
        None = "none",
        Pmd = "pmd",
        Pud = "pud",
    }
}

keyword_enum! {
    /// The pfn_t flags a driver passes with its inserts (`pfn=`).
    pub enum PfnFlags {
        None = "none",
        Dev = "dev",
        DevMap = "dev+map",
        Special = "special",
    }
}

keyword_enum! {
    /// How a `driver` populates its mappings (`insert=`).
    pub enum InsertMethod {
        /// ->fault calls vmf_insert_pfn.
        Pfn = "pfn",
        /// ->fault calls vmf_insert_mixed.
        Mixed = "mixed",
        /// vm_insert_page.
        Page = "page",
        /// ->fault returns a refcounted page.
        FaultPage = "fault_page",
        /// remap_pfn_range at mmap time.
        Remap = "remap",
        /// ->huge_fault calls vmf_insert_pfn_pmd.
        Pmd = "pmd",
        /// ->huge_fault calls vmf_insert_pfn_pud.
        Pud = "pud",
    }
}

keyword_enum! {
    /// What backs a `driver` object (`memory=`).
    pub enum MemoryKind {
        /// alloc_pages: struct pages.
        Ram = "ram",
        /// No struct page.
        Iomem = "iomem",
        /// ZONE_DEVICE pages with a dev_pagemap.
        Devmem = "devmem",
    }
}

keyword_enum! {
    /// One vma flag a driver sets at mmap (`vm=a+b`).
    pub enum VmFlag {
        Pfnmap = "pfnmap",
        Mixedmap = "mixedmap",
        Io = "io",
        Dontexpand = "dontexpand",
        Dontdump = "dontdump",
        Hugepage = "hugepage",
    }
}

/// A set of [`VmFlag`]s; serialized as the list of flag names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VmFlagSet(u8);

impl VmFlagSet {
    pub fn empty() -> VmFlagSet {
        VmFlagSet(0)
    }

    fn bit(flag: VmFlag) -> u8 {
        1 << (flag as u8)
    }

    pub fn contains(self, flag: VmFlag) -> bool {
        self.0 & Self::bit(flag) != 0
    }

    pub fn insert(&mut self, flag: VmFlag) {
        self.0 |= Self::bit(flag);
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags in the set, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = VmFlag> {
        VmFlag::ALL
            .iter()
            .copied()
            .filter(move |f| self.contains(*f))
    }
}

impl FromIterator<VmFlag> for VmFlagSet {
    fn from_iter<I: IntoIterator<Item = VmFlag>>(iter: I) -> VmFlagSet {
        let mut set = VmFlagSet::empty();
        for flag in iter {
            set.insert(flag);
        }
        set
    }
}

impl Serialize for VmFlagSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// `mmap NAME OBJECT [size=] [offset=] [shared|private] [r|rw|none] [at=]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mmap {
    pub name: Name,
    pub object: Name,
    /// `None`: the whole object (from `offset`).
    pub size: Option<u64>,
    /// `None`: offset 0, not written.
    pub offset: Option<u64>,
    pub sharing: Sharing,
    pub prot: Prot,
    /// `None`: an address aligned to the object's largest huge size.
    pub at: Option<u64>,
}

keyword_enum! {
    pub enum Sharing {
        Shared = "shared",
        Private = "private",
    }
}

keyword_enum! {
    /// Mapping protection (`mmap`, `mprotect`).
    pub enum Prot {
        R = "r",
        Rw = "rw",
        None = "none",
    }
}

keyword_enum! {
    /// The transparent hugepage setting (`thp`).
    pub enum ThpMode {
        Always = "always",
        Madvise = "madvise",
        Never = "never",
    }
}

/// A thread `Pn { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// n in `Pn`; equal to the thread's position in [`Test::threads`].
    pub index: usize,
    /// The span of the `Pn` header name.
    pub name_span: Span,
    pub ops: Vec<Operation>,
    /// From `Pn` to the closing brace.
    pub span: Span,
}

/// A per-thread register, `r0` ... `r9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Reg(pub u8);

impl Reg {
    /// How many registers each thread has.
    pub const COUNT: u8 = 10;
}

impl std::fmt::Display for Reg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// `MAPPING` or `MAPPING+OFFSET`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Addr {
    pub mapping: Name,
    pub offset: u64,
    pub span: Span,
}

/// One operation, in a thread or in setup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    pub kind: OpKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `read ADDR [-> rN]`.
    Read {
        addr: Addr,
        dest: Option<Spanned<Reg>>,
    },
    /// `write ADDR VALUE`.
    Write { addr: Addr, value: u64 },
    /// `touch ADDR`.
    Touch { addr: Addr },
    /// `rN = GUP ADDR [pages=N] [write] [longterm] [force]`.
    Gup {
        dest: Spanned<Reg>,
        call: GupCall,
        addr: Addr,
        pages: u64,
        write: bool,
        longterm: bool,
        force: bool,
    },
    /// `rN = SYSCALL ADDR size=SIZE`.
    Syscall {
        dest: Spanned<Reg>,
        call: Syscall,
        addr: Addr,
        size: u64,
    },
    /// `dma_write rN VALUE`.
    DmaWrite { reg: Spanned<Reg>, value: u64 },
    /// `dma_read rN [-> rM]`.
    DmaRead {
        reg: Spanned<Reg>,
        dest: Option<Spanned<Reg>>,
    },
    /// `unpin rN`.
    Unpin { reg: Spanned<Reg> },
    /// `evict OBJ [to=system|vram]`.
    Evict { object: Name, to: Option<Placement> },
    /// `destroy OBJ`.
    Destroy { object: Name },
    /// `munmap MAPPING`.
    Munmap { mapping: Name },
    /// `mprotect MAPPING r|rw|none`.
    Mprotect { mapping: Name, prot: Prot },
    /// `madvise MAPPING dontneed`.
    Madvise { mapping: Name, advice: Advice },
}

impl OpKind {
    /// The operation's keyword (the call name for GUP and syscalls).
    pub fn keyword(&self) -> &'static str {
        match self {
            OpKind::Read { .. } => "read",
            OpKind::Write { .. } => "write",
            OpKind::Touch { .. } => "touch",
            OpKind::Gup { call, .. } => call.keyword(),
            OpKind::Syscall { call, .. } => call.keyword(),
            OpKind::DmaWrite { .. } => "dma_write",
            OpKind::DmaRead { .. } => "dma_read",
            OpKind::Unpin { .. } => "unpin",
            OpKind::Evict { .. } => "evict",
            OpKind::Destroy { .. } => "destroy",
            OpKind::Munmap { .. } => "munmap",
            OpKind::Mprotect { .. } => "mprotect",
            OpKind::Madvise { .. } => "madvise",
        }
    }

    /// The register this operation writes, if any.
    pub fn defined_register(&self) -> Option<Spanned<Reg>> {
        match self {
            OpKind::Read { dest, .. } | OpKind::DmaRead { dest, .. } => dest.clone(),
            OpKind::Gup { dest, .. } | OpKind::Syscall { dest, .. } => Some(dest.clone()),
            _ => None,
        }
    }

    /// The register this operation reads (the pages it holds), if any.
    pub fn used_register(&self) -> Option<Spanned<Reg>> {
        match self {
            OpKind::DmaWrite { reg, .. } | OpKind::DmaRead { reg, .. } | OpKind::Unpin { reg } => {
                Some(reg.clone())
            }
            _ => None,
        }
    }
}

keyword_enum! {
    /// The six GUP entry points.
    pub enum GupCall {
        GetUserPages = "get_user_pages",
        GetUserPagesFast = "get_user_pages_fast",
        GetUserPagesFastOnly = "get_user_pages_fast_only",
        PinUserPages = "pin_user_pages",
        PinUserPagesFast = "pin_user_pages_fast",
        PinUserPagesFastOnly = "pin_user_pages_fast_only",
    }
}

keyword_enum! {
    /// Syscalls that take user pages and hold them.
    pub enum Syscall {
        ODirectRead = "o_direct_read",
        ODirectWrite = "o_direct_write",
        Vmsplice = "vmsplice",
        ProcessVmReadv = "process_vm_readv",
        ProcessVmWritev = "process_vm_writev",
        IoUringRegister = "io_uring_register",
    }
}

keyword_enum! {
    /// `madvise` advice.
    pub enum Advice {
        DontNeed = "dontneed",
    }
}

/// `exists|forbid|forall EXPR`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub quantifier: Quantifier,
    pub expr: Expr,
    pub span: Span,
}

keyword_enum! {
    pub enum Quantifier {
        /// Some execution satisfies the expression.
        Exists = "exists",
        /// No execution satisfies it.
        Forbid = "forbid",
        /// Every execution satisfies it.
        Forall = "forall",
    }
}

/// A boolean expression over one execution's final state and events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprKind {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Atom(Atom),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Atom {
    /// `Pn:rN OP VALUE`.
    Reg {
        thread: Spanned<usize>,
        reg: Spanned<Reg>,
        op: CmpOp,
        value: RegValue,
    },
    /// `OBJ[PAGE] OP VALUE`: final contents of a page of an object.
    Page {
        object: Name,
        page: u64,
        op: CmpOp,
        value: u64,
    },
    /// `EVENT`: the event happened at least once.
    Event(Event),
}

keyword_enum! {
    pub enum CmpOp {
        Eq = "==",
        Ne = "!=",
        Lt = "<",
        Le = "<=",
        Gt = ">",
        Ge = ">=",
    }
}

impl CmpOp {
    /// Applies the comparison.
    pub fn holds<T: Ord>(self, left: T, right: T) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }
}

/// What a register is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegValue {
    /// A count or value; negative numbers are an extension (`P0:r0 < 0`).
    Number(i64),
    /// `-EFAULT` etc.; the register holds `errno.value()`.
    Errno(Errno),
    /// The thread was killed by this signal (`SIGBUS`, `SIGSEGV`).
    Signal(Signal),
}

keyword_enum! {
    /// Fatal signals an access can end a thread with.
    pub enum Signal {
        Sigbus = "SIGBUS",
        Sigsegv = "SIGSEGV",
    }
}

keyword_enum! {
    /// Bugs the model reports (see docs/litmus.md).
    pub enum Event {
        LostWrite = "lost_write",
        StaleRead = "stale_read",
        BadPage = "bad_page",
        UseAfterFree = "use_after_free",
        PageReuse = "page_reuse",
        RefcountError = "refcount_error",
        Hang = "hang",
        Bug = "bug",
        Warn = "warn",
        Leak = "leak",
    }
}
