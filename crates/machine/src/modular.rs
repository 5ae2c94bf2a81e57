//! The machine as a [`Modular`] model: the kernel is what threads share, each thread's state
//! is its own. A step reads and writes only the kernel and the stepping thread's state, so
//! the explorer interns both and remembers steps (`mmlab_explore::modular`).

use crate::build::Machine;
use crate::fine::KernelSummary;
use crate::state::ThreadState;
use mmlab_drivers::Model as Kernel;
use mmlab_explore::Modular;
use mmlab_mm::KernelParts;

impl Modular for Machine {
    type Shared = Kernel;
    type Local = ThreadState;
    type Parts = KernelParts<mmlab_drivers::Drivers>;

    fn init_states(&self) -> Vec<(Kernel, Vec<ThreadState>)> {
        vec![(self.init.kernel.clone(), self.init.threads.clone())]
    }

    fn threads(&self) -> usize {
        self.threads.len()
    }

    type Summary = KernelSummary;

    fn summary(&self, kernel: &Kernel) -> KernelSummary {
        KernelSummary::of(kernel)
    }

    fn enabled<'s>(
        &self,
        summary: KernelSummary,
        kernel: impl FnOnce() -> Option<&'s Kernel>,
        t: &ThreadState,
        thread: usize,
    ) -> bool {
        self.enabled_given(summary, kernel, t, thread)
    }

    fn step(&self, kernel: &mut Kernel, t: &mut ThreadState, thread: usize) {
        self.step_thread(kernel, t, thread)
    }

    fn share_parts(&self, parts: &Self::Parts, kernel: &mut Kernel) {
        kernel.share_parts(parts)
    }

    fn settle(&self, kernel: &mut Kernel, threads: &[&ThreadState]) {
        self.settle_terminal(kernel, threads.iter().copied())
    }
}
