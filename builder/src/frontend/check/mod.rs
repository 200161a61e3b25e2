//! Type and ownership checking: [`LoadedProgram`] → [`TProgram`].
//!
//! [`program`] indexes every function and checks module interfaces (exports, visibility);
//! [`scope`] holds a function's locals and the ownership state; [`expr`] checks special forms and
//! [`call`] checks calls with the argument-passing rules of `language-core` §2.1; [`budget`]
//! checks budget scopes.

mod budget;
mod call;
mod expr;
mod pointers;
mod program;
mod rr;
mod scope;
mod task_scope;

pub use program::{check_program, CheckOptions};
