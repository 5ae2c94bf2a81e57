//! The machine as a [`Modular`] model: the kernel is what threads share, each thread's state
//! is its own. A step reads and writes only the kernel and the stepping thread's state, so
//! the explorer interns both and remembers steps (`mmlab_explore::modular`).

use crate::build::Machine;
use crate::fine::Wait;
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

    fn enabled<'s>(
        &self,
        kernel: impl FnOnce() -> Option<&'s Kernel>,
        t: &ThreadState,
        thread: usize,
    ) -> bool {
        match self.next_wait(t, thread) {
            None => false,
            Some(Wait::Nothing) => true,
            // Only a step that may wait reads the kernel.
            Some(wait) => kernel().is_some_and(|k| !crate::fine::waits(k, t, wait)),
        }
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
