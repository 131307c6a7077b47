//! The `colabel` binary: `colabel [serve|migrate|seed] [--addr ADDR] [--database-url URL]`.

use std::process::ExitCode;

use colabel::config::Settings;
use colabel::startup::{open_database, Application};

/// mimalloc instead of glibc's malloc: a page allocates and frees many small strings on
/// threads that hand work to each other, where glibc's arenas spent ~20% of a page's CPU
/// (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc 3 commits its arenas eagerly by default on Linux (`arena_eager_commit`, 2: "on
// overcommit systems"), which kept 45 MB resident at idle and 116 MB after the API's list of
// 10,000 members; lazily committed, the same run peaks at 55 MB with the same throughput
// (docs/performance.md). Options are read when the first arena is made, at the first
// allocation, and Rust allocates before `main`: so this runs as an ELF constructor, before
// any of it. An environment variable still wins (`MIMALLOC_ARENA_EAGER_COMMIT=2`).
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
}

/// `mi_option_arena_eager_commit` in mimalloc 3's `mi_option_e`.
const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;

extern "C" fn lazy_arena_commit() {
    // SAFETY: runs once, single-threaded, before `main`; `getenv` reads a NUL-terminated
    // literal and allocates nothing; `mi_option_set` only stores the option.
    unsafe {
        if getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()).is_null() {
            mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        }
    }
}

#[used]
#[link_section = ".init_array"]
static LAZY_ARENA_COMMIT: extern "C" fn() = lazy_arena_commit;

const USAGE: &str = "usage: colabel [serve|migrate|seed] [--addr ADDR] [--database-url URL]\n\
  serve    run the web server (default)\n\
  migrate  apply pending database migrations and exit\n\
  seed     fill an empty database with demo data and print a login; options:\n\
           --users N (20000) --orgs N (500) --big-org N (10000 members)\n\
           --datasets N (50000) --collaborators N (5 per organization dataset)\n\
Configuration comes from the environment; see README.md.";

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let mut command = "serve".to_string();
    let mut scale = colabel::seed::Scale::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let number = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok()).filter(|n| *n >= 0);
        match arg.as_str() {
            "--users" | "--orgs" | "--big-org" | "--datasets" | "--collaborators" => {
                let Some(n) = number(args.next()) else {
                    return fail(&format!("{arg} needs a number"));
                };
                match arg.as_str() {
                    "--users" => scale.users = n,
                    "--orgs" => scale.orgs = n,
                    "--big-org" => scale.big_org_members = n,
                    "--datasets" => scale.datasets = n,
                    _ => scale.collaborators_per_dataset = n,
                }
            }
            "--addr" => match args.next() {
                Some(v) => settings.addr = v,
                None => return fail("--addr needs a value"),
            },
            "--database-url" => match args.next() {
                Some(v) => settings.database_url = v,
                None => return fail("--database-url needs a value"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "serve" | "migrate" | "seed" => command = arg,
            other => return fail(&format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    match command.as_str() {
        "migrate" => match open_database(&settings) {
            Ok((_, ran)) => {
                println!("applied {ran} migration(s)");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        "seed" => match open_database(&settings) {
            Ok((db, _)) => match colabel::seed::run(&db, &scale, settings.bcrypt_cost) {
                Ok(summary) => {
                    println!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            },
            Err(e) => fail(&e.to_string()),
        },
        _ => serve(settings),
    }
}

#[actix_web::main]
async fn serve(settings: Settings) -> ExitCode {
    let addr = settings.addr.clone();
    let app = match Application::build(settings) {
        Ok(app) => app,
        Err(e) => return fail(&e.to_string()),
    };
    log::info!(
        "Colabel listening on http://{}",
        addr.replace(":0", &format!(":{}", app.port()))
    );
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("colabel: {message}");
    ExitCode::FAILURE
}
