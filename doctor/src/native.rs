//! The native libraries the default profile links (`meta.ffi_libs` of locked packages, the
//! project's `link.libs`): each one's headers and library, with the Debian package to install.

use std::path::Path;

use x07_builder::cc::packages::{install_hint, library_header};
use x07_spec::doctor::DoctorCheck;

use crate::check;
use crate::needs::Needs;
use crate::toolchain::{skipped, try_compile};

pub(crate) fn check_libraries(checks: &mut Vec<DoctorCheck>, needs: &Needs, cc: Option<&Path>) {
    for lib in &needs.native_libs {
        let id = format!("native-lib:{lib}");
        let title = format!("native library {lib} (headers and -l{lib})");
        let Some(cc) = cc else {
            checks.push(skipped(&id, &title, "no C compiler"));
            continue;
        };
        let source = match library_header(lib) {
            Some(h) => format!("#include <{h}>\nint main(void) {{ return 0; }}\n"),
            None => "int main(void) { return 0; }\n".to_string(),
        };
        let outcome = try_compile(cc, &source, &[format!("-l{lib}")])
            .map(|()| match library_header(lib) {
                Some(h) => format!("<{h}> compiles and -l{lib} links"),
                None => format!("-l{lib} links"),
            })
            .map_err(|e| (e, install_hint(lib)));
        checks.push(check(id, title, outcome, true));
    }
}
