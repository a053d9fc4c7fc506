//! Work on many images by several engines side by side, with a progress line.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use honnin::Engine;

/// `work(engine, i)` for every `i` in `0..count`, in order, by `jobs` worker
/// threads, each with its own engine from `build`; the progress line on
/// stderr says `what` is being done. The results do not depend on `jobs`:
/// each item is worked on alone, by an engine built the same way.
pub(crate) fn in_parallel<T: Send>(
    what: &'static str,
    jobs: usize,
    count: usize,
    build: impl Fn() -> Result<Engine> + Sync,
    work: impl Fn(&Engine, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, 16);
    let progress = Progress::new(what, count);
    type Indexed<T> = Vec<(usize, T)>;
    let results: Vec<Result<Indexed<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| -> Result<Indexed<T>> {
                    let engine = build()?;
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(out);
                        }
                        out.push((i, work(&engine, i)?));
                        progress.tick();
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("worker panicked"))).collect()
    });
    progress.finish();
    let mut all: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for r in results {
        for (i, t) in r? {
            all[i] = Some(t);
        }
    }
    all.into_iter().map(|t| t.context("a worker skipped an item")).collect()
}

/// A progress line on stderr: redrawn in place on a terminal (at most 5
/// times a second), a line per 10 % otherwise (CI logs).
struct Progress {
    what: &'static str,
    count: usize,
    done: AtomicUsize,
    started: std::time::Instant,
    last: std::sync::Mutex<(std::time::Instant, usize)>,
    terminal: bool,
}

impl Progress {
    fn new(what: &'static str, count: usize) -> Self {
        use std::io::IsTerminal;
        let now = std::time::Instant::now();
        let terminal = std::io::stderr().is_terminal();
        Self { what, count, done: AtomicUsize::new(0), started: now, last: std::sync::Mutex::new((now, 0)), terminal }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut last) = self.last.try_lock() else { return };
        let now = std::time::Instant::now();
        let due = if self.terminal {
            now.duration_since(last.0).as_millis() >= 200
        } else {
            done * 10 / self.count.max(1) > last.1 * 10 / self.count.max(1)
        };
        if due {
            *last = (now, done);
            self.draw(done);
        }
    }

    fn draw(&self, done: usize) {
        let width = 30;
        let filled = done * width / self.count.max(1);
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let left = (self.count - done.min(self.count)) as f64 / rate.max(1e-3);
        let bar: String = (0..width).map(|i| if i < filled { '#' } else { '.' }).collect();
        let line = format!("{} [{bar}] {done}/{} images, {rate:.0}/s, {left:.0} s left", self.what, self.count);
        if self.terminal {
            eprint!("\r{line}  ");
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.terminal {
            self.draw(self.done.load(Ordering::Relaxed));
            eprintln!();
        }
    }
}
