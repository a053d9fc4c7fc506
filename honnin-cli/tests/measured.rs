//! `honnin` run with its peak memory measured.

use std::path::Path;

use crate::common;

/// What a measured run of the `honnin` binary gave.
pub struct Measured {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set size of the honnin process, KiB.
    pub peak_kib: u64,
    pub elapsed: std::time::Duration,
}

/// Runs the `honnin` binary (as [`common::honnin`] does, `models` as HONNIN_MODELS)
/// and measures its peak RSS.
///
/// The peak is measured by a small Python parent: a process started directly
/// from this test binary would report this process's own peak as well, as
/// Linux carries the peak of the address space a process leaves over `exec`
/// (and this one holds engines and other tests' pictures). Python's own
/// memory stays out of it: `RUSAGE_CHILDREN` counts the children only.
pub fn honnin_measured(args: &[&str], models: Option<&Path>) -> Measured {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        run = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)\n\
        sys.stdout.buffer.write(run.stdout)\n\
        sys.stderr.buffer.write(run.stderr)\n\
        print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
        sys.exit(run.returncode)\n";
    let mut command = std::process::Command::new("python3");
    command.args(["-c", MEASURE]).arg(common::binary()).args(args);
    command.current_dir(common::root()).env("HONNIN_ORT_LIB", common::ort_lib());
    match models {
        Some(dir) => command.env("HONNIN_MODELS", dir),
        None => command.env_remove("HONNIN_MODELS"),
    };
    let started = std::time::Instant::now();
    let output = command.output().expect("python3 runs (tools/setup.py needs it too)");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {stderr}"));
    Measured {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        peak_kib,
        elapsed,
    }
}
