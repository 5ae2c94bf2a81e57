//! Criterion benches of single model operations, each on a kernel value set up beforehand
//! (the setup is cloned per iteration and not measured):
//!
//! - `fault/ttm-pte-5.11`: handle_mm_fault of a TTM BO page (ttm_bo_vm_fault: the faulting
//!   PTE and 15 prefaulted ones);
//! - `fault/ttm-pmd-5.11`: handle_mm_fault that maps a TTM BO with a huge PMD (vmwgfx-style
//!   huge_fault);
//! - `gup/pin-fast-512-pmd-5.11`: pin_user_pages_fast of 512 pages under that huge PMD;
//! - `gup/pin-fast-512-ptes-6.1`: pin_user_pages_fast of 512 vm_insert_page'd PTEs (driver
//!   insert=page);
//! - `evict/ttm-2M-5.11`: eviction of a mapped, pinned 2 MiB BO to VRAM;
//! - `state/clone+hash`: cloning and fingerprinting the kernel state left after the pin and
//!   the eviction, as the explorer does with every state it visits.
//!
//! `cargo bench -p mmlab-drivers --bench ops -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use mmlab_drivers::drivers::generic::{GenericDevice, Insert, Memory};
use mmlab_drivers::drivers::gpu::drm::ttm::ttm_bo::{ttm_bo_create, Caching, Placement, TtmBo};
use mmlab_drivers::fops::{self, MmapArgs};
use mmlab_drivers::Model;
use mmlab_explore::fingerprint::fingerprint;
use mmlab_mm::include::linux::mm_types::{FaultFlags, MappingId, ObjId};
use mmlab_mm::include::pfn_t::PfnFlags;
use mmlab_mm::mm::gup::{FollFlags, GupCall, Holder};
use mmlab_mm::mm::mmap::Prot;
use mmlab_mm::{KernelConfig, Level, Release};

fn kernel(major: u8, minor: u8) -> Model {
    Model::new(KernelConfig::mainline(Release::new(major, minor)))
}

fn args(pages: u64) -> MmapArgs {
    MmapArgs {
        addr: None,
        pages,
        pgoff: 0,
        shared: true,
        prot: Prot::ReadWrite,
    }
}

/// A 2 MiB TTM BO in system memory, mapped shared: (kernel, BO, vma index, address).
fn ttm_2m(huge: Option<Level>) -> (Model, ObjId, usize, u64) {
    let mut k = kernel(5, 11);
    let bo = ttm_bo_create(
        &mut k,
        TtmBo {
            pages: 512,
            place: Placement::System,
            caching: Caching::Cached,
            huge,
            huge_pfn: PfnFlags::DEV,
            mapping: MappingId(0),
        },
    )
    .expect("memory for the BO");
    let vi = fops::mmap(&mut k, bo, args(512)).expect("mmap");
    let addr = k.vmas[vi].start;
    (k, bo, vi, addr)
}

const HOLDER: Holder = Holder { thread: 0, reg: 0 };

fn faults(c: &mut Criterion) {
    let mut g = c.benchmark_group("fault");
    let (k, _, vi, addr) = ttm_2m(None);
    g.bench_function("ttm-pte-5.11", |b| {
        b.iter_batched(
            || k.clone(),
            |mut k| {
                black_box(k.handle_mm_fault(vi, addr, FaultFlags::USER | FaultFlags::WRITE));
                k
            },
            BatchSize::SmallInput,
        )
    });
    let (k, _, vi, addr) = ttm_2m(Some(Level::Pmd));
    g.bench_function("ttm-pmd-5.11", |b| {
        b.iter_batched(
            || k.clone(),
            |mut k| {
                black_box(k.handle_mm_fault(vi, addr, FaultFlags::USER | FaultFlags::WRITE));
                k
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The 5.11 TTM BO with its huge PMD faulted in.
fn ttm_pmd_faulted() -> (Model, ObjId, u64) {
    let (mut k, bo, vi, addr) = ttm_2m(Some(Level::Pmd));
    k.handle_mm_fault(vi, addr, FaultFlags::USER | FaultFlags::WRITE);
    assert_eq!(
        k.pt.leaves(Level::Pmd, addr, addr + 1).len(),
        1,
        "a huge PMD"
    );
    (k, bo, addr)
}

/// A 6.1 generic driver with 512 pages mapped by vm_insert_page at mmap time.
fn driver_ptes_61() -> (Model, u64) {
    let mut k = kernel(6, 1);
    let dev = GenericDevice::create(
        &mut k,
        GenericDevice {
            pages: 512,
            insert: Insert::Page,
            vm: None,
            pfn: PfnFlags::DEV,
            memory: Memory::Ram,
            dax: false,
            mapping: MappingId(0),
        },
    )
    .expect("memory for the device");
    let vi = fops::mmap(&mut k, dev, args(512)).expect("mmap");
    let addr = k.vmas[vi].start;
    assert_eq!(k.pt.ptes(addr, addr + 512 * 4096).len(), 512);
    (k, addr)
}

fn gups(c: &mut Criterion) {
    let mut g = c.benchmark_group("gup");
    let (k, _, addr) = ttm_pmd_faulted();
    g.bench_function("pin-fast-512-pmd-5.11", |b| {
        b.iter_batched(
            || k.clone(),
            |mut k| {
                let r = k.gup(
                    GupCall::PinUserPagesFast,
                    addr,
                    512,
                    FollFlags::WRITE,
                    HOLDER,
                );
                assert_eq!(r.ret, 512);
                k
            },
            BatchSize::SmallInput,
        )
    });
    let (k, addr) = driver_ptes_61();
    g.bench_function("pin-fast-512-ptes-6.1", |b| {
        b.iter_batched(
            || k.clone(),
            |mut k| {
                let r = k.gup(
                    GupCall::PinUserPagesFast,
                    addr,
                    512,
                    FollFlags::WRITE,
                    HOLDER,
                );
                assert_eq!(r.ret, 512);
                k
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn evictions(c: &mut Criterion) {
    let mut g = c.benchmark_group("evict");
    let (mut k, bo, addr) = ttm_pmd_faulted();
    let r = k.gup(
        GupCall::PinUserPagesFast,
        addr,
        512,
        FollFlags::WRITE,
        HOLDER,
    );
    assert_eq!(r.ret, 512);
    g.bench_function("ttm-2M-5.11", |b| {
        b.iter_batched(
            || k.clone(),
            |mut k| {
                fops::evict(&mut k, bo, Some(Placement::Vram));
                k
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // The state after the pin and the eviction: what the explorer clones and hashes.
    fops::evict(&mut k, bo, Some(Placement::Vram));
    let mut g = c.benchmark_group("state");
    g.bench_function("clone+hash", |b| {
        b.iter(|| {
            let s = black_box(&k).clone();
            black_box(fingerprint(&s))
        })
    });
    g.bench_function("hash", |b| b.iter(|| black_box(fingerprint(black_box(&k)))));
    g.finish();
}

criterion_group!(benches, faults, gups, evictions);
criterion_main!(benches);
