//! The toy [`Program`] model for the `stateright` crate, to time both checkers on the same
//! state space. Shared by the criterion bench and the `bench` example.

use mmlab_explore::toy::{Program, ProgramState};
use mmlab_explore::Model as _;
use stateright::{Checker, Model, Property};

/// [`Program`] seen through stateright's `Model` trait: an action is a thread id.
#[derive(Clone)]
pub struct StaterightProgram(pub Program);

impl Model for StaterightProgram {
    type State = ProgramState;
    type Action = usize;

    fn init_states(&self) -> Vec<ProgramState> {
        self.0.init_states()
    }

    fn actions(&self, state: &ProgramState, actions: &mut Vec<usize>) {
        actions.extend((0..self.0.threads()).filter(|&t| self.0.enabled(state, t)));
    }

    fn next_state(&self, state: &ProgramState, thread: usize) -> Option<ProgramState> {
        Some(self.0.step(state, thread))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        // Without a property that is still awaiting a discovery, stateright stops at once.
        vec![Property::always("holds", |_, _| true)]
    }
}

/// Explores `program` fully with stateright's breadth-first checker on one thread; returns
/// the number of unique states.
pub fn stateright_unique_states(program: &Program) -> usize {
    StaterightProgram(program.clone())
        .checker()
        .threads(1)
        .spawn_bfs()
        .join()
        .unique_state_count()
}
