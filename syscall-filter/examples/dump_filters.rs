//! Prints the seccomp programs for a policy's network settings, one per line as hex of the raw
//! `struct sock_filter` bytes, in installation order. Used by bench/ to encode PolicyBlobs the
//! way x07 does: `cargo run --release -p x07-syscall-filter --example dump_filters -- [net] [tcp] [udp]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |w: &str| args.iter().any(|a| a == w);
    if let Some(bad) = args
        .iter()
        .find(|a| !["net", "tcp", "udp"].contains(&a.as_str()))
    {
        eprintln!("dump_filters: unknown argument `{bad}`; expected any of: net tcp udp");
        std::process::exit(2);
    }
    let needs = x07_syscall_filter::FilterNeeds {
        net: has("net"),
        tcp: has("tcp"),
        udp: has("udp"),
    };
    match x07_syscall_filter::program_filters(&needs) {
        Ok(programs) => {
            for p in programs {
                println!(
                    "{}",
                    p.iter().map(|b| format!("{b:02x}")).collect::<String>()
                );
            }
        }
        Err(e) => {
            eprintln!("dump_filters: {e}");
            std::process::exit(1);
        }
    }
}
