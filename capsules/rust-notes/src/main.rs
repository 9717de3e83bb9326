//! rust-notes - a small notes app on the runtime's storage, through capabilities:
//!
//! ```text
//! notes add TEXT...   append a line to localhost://storage/notes.txt (asks for write + read)
//! notes list          print the notes (asks for read)
//! notes clear         delete the notes file (asks for delete)
//! ```
//!
//! Every access goes through a capability token from the runtime: the manifest lists
//! `localhost://storage/*` read, write, delete; whether a request is granted is up to the
//! operator (`elastos run --grant 'localhost://storage/*:write' ...`) and the shell. A denied
//! capability prints a clear message and exits 1.

use std::fmt;
use std::process;

use elastos_guest::{CapsuleInfo, Error, RuntimeClient};

const NOTES: &str = "localhost://storage/notes.txt";

enum Failure {
    Usage,
    Denied { action: &'static str, why: String },
    Runtime(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Runtime(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage => write!(f, "usage: notes add TEXT... | notes list | notes clear"),
            Failure::Denied { action, why } => write!(
                f,
                "notes: permission denied: may not {action} {NOTES}\n\
                 notes: the runtime said: {why}\n\
                 notes: allow it with: elastos run --grant 'localhost://storage/*:{action}' ..."
            ),
            Failure::Runtime(e) => write!(f, "notes: {e}"),
        }
    }
}

/// A token for `action` on the notes file.
fn capability(rt: &mut RuntimeClient, action: &'static str) -> Result<String, Failure> {
    match rt.request_capability(NOTES, action, None) {
        Ok(t) => Ok(t.token),
        Err(Error::Runtime { code, message }) if code == "denied" => Err(Failure::Denied {
            action,
            why: message,
        }),
        Err(e) => Err(Failure::Runtime(e)),
    }
}

/// The notes file's contents; empty when there is none yet.
fn read_notes(rt: &mut RuntimeClient, token: &str) -> Result<String, Failure> {
    match rt.storage_read(token, NOTES) {
        Ok(data) => Ok(String::from_utf8_lossy(&data).into_owned()),
        Err(e) if e.is_not_found() => Ok(String::new()),
        Err(e) => Err(e.into()),
    }
}

fn add(rt: &mut RuntimeClient, text: &str) -> Result<(), Failure> {
    let write = capability(rt, "write")?;
    let read = capability(rt, "read")?;
    let mut notes = read_notes(rt, &read)?;
    if !notes.is_empty() && !notes.ends_with('\n') {
        notes.push('\n');
    }
    // One note per line.
    notes.extend(
        text.chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
    notes.push('\n');
    rt.storage_write(&write, NOTES, notes.as_bytes())?;
    println!("added note {}", notes.lines().count());
    Ok(())
}

fn list(rt: &mut RuntimeClient) -> Result<(), Failure> {
    let read = capability(rt, "read")?;
    let notes = read_notes(rt, &read)?;
    if notes.is_empty() {
        println!("no notes yet");
    }
    for (i, line) in notes.lines().enumerate() {
        println!("{}. {line}", i + 1);
    }
    Ok(())
}

fn clear(rt: &mut RuntimeClient) -> Result<(), Failure> {
    let delete = capability(rt, "delete")?;
    match rt.storage_delete(&delete, NOTES) {
        Ok(()) => println!("notes cleared"),
        Err(e) if e.is_not_found() => println!("no notes to clear"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), Failure> {
    let command = args.first().map(String::as_str);
    if !matches!(
        (command, args.len()),
        (Some("add"), 2..=usize::MAX) | (Some("list" | "clear"), 1)
    ) {
        return Err(Failure::Usage);
    }
    let mut rt = RuntimeClient::open()?;
    match command {
        Some("add") => add(&mut rt, &args[1..].join(" ")),
        Some("list") => list(&mut rt),
        _ => clear(&mut rt),
    }
}

fn main() {
    if CapsuleInfo::from_env().is_none() {
        eprintln!("notes: not running as an elastos capsule");
        process::exit(2);
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match run(&args) {
        Ok(()) => {}
        Err(Failure::Usage) => {
            eprintln!("{}", Failure::Usage);
            process::exit(2);
        }
        Err(e) => {
            eprintln!("{e}");
            process::exit(1);
        }
    }
}
