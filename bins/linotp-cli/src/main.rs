//! `linotp`: LinOTP's command line, for linotp-rs.
//!
//! Same commands, options and files as LinOTP's `linotp` (init, local-admins, config), so
//! operators' scripts keep working. Exit codes are part of the interface; see [`Exit`].

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::commands::Failure;

/// LinOTP's command line (linotp-rs).
#[derive(Debug, Parser)]
#[command(
    name = "linotp",
    version,
    about = "Manage a linotp-rs installation: keys, database, local administrators, settings",
    after_help = "Settings come from the files in LINOTP_CFG and from LINOTP_<NAME> environment \
                  variables (see `linotp config show`).\n\n\
                  Exit codes: 0 success, 1 failure, 2 usage error, 3 database schema not usable \
                  by this version, 4 a required file (encKey, audit keys) is missing, 5 no such \
                  local administrator, 6 local administrator exists already."
)]
struct Cli {
    /// More output (repeat for more detail).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the encryption key, audit keys and database.
    #[command(subcommand)]
    Init(InitCommand),
    /// Manage local administrator accounts.
    #[command(subcommand, name = "local-admins")]
    LocalAdmins(LocalAdminsCommand),
    /// Show the effective settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the server in the foreground (the same server as `linotp-server`).
    Run {
        /// Address and port to listen on (overrides the LISTEN setting).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
enum InitCommand {
    /// Generate the AES/HMAC key file (SECRET_FILE, 96 bytes).
    #[command(name = "enc-key")]
    EncKey {
        /// Replace an existing key file (the old one is kept as a backup copy).
        #[arg(short, long)]
        force: bool,
        /// Print a paper backup of the key file.
        #[arg(long)]
        dump: bool,
        /// Restore the key from the hex digits of a paper backup (spaces allowed).
        #[arg(long, value_name = "HEX")]
        keys: Option<String>,
    },
    /// Generate the RSA key pair that signs audit rows.
    #[command(name = "audit-keys")]
    AuditKeys {
        /// Replace an existing key pair (the old private key is kept as a backup copy).
        #[arg(short, long)]
        force: bool,
    },
    /// Create the database schema, or upgrade one this version knows.
    Database {
        /// Erase ALL existing data first.
        #[arg(long)]
        erase_all_data: bool,
        /// Do not ask before erasing.
        #[arg(long)]
        yes: bool,
    },
    /// enc-key, audit-keys and database in sequence.
    All {
        /// Pass --force to enc-key and audit-keys.
        #[arg(short, long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
struct AdminDetailsArgs {
    /// Phone number of the account owner.
    #[arg(long)]
    phone: Option<String>,
    /// Mobile number of the account owner.
    #[arg(long)]
    mobile: Option<String>,
    /// E-mail address of the account owner.
    #[arg(long)]
    email: Option<String>,
    /// Surname of the account owner.
    #[arg(long)]
    surname: Option<String>,
    /// Given name of the account owner.
    #[arg(long)]
    givenname: Option<String>,
}

#[derive(Debug, Subcommand)]
enum LocalAdminsCommand {
    /// List local administrator accounts.
    List {
        /// Output template with {username} {name} {email} {phone} {mobile} {surname}
        /// {givenname} {enabled}, or `json`.
        #[arg(short, long)]
        format: Option<String>,
        /// Detailed output.
        #[arg(short, long)]
        long: bool,
    },
    /// Add a local administrator account (without a password: set one with `password`).
    Add {
        /// Account name.
        name: String,
        #[command(flatten)]
        details: AdminDetailsArgs,
    },
    /// Change the contact details of an account.
    Modify {
        /// Account name.
        name: String,
        #[command(flatten)]
        details: AdminDetailsArgs,
    },
    /// Set the password of an account (prompts twice without --password; `-` reads stdin).
    Password {
        /// Account name.
        name: String,
        /// The new password, or `-` to read one line from standard input.
        #[arg(long)]
        password: Option<String>,
    },
    /// Remove an account.
    Remove {
        /// Account name.
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Enable an account; without a name, (re-)add the local admin resolver to the admin realm.
    Enable {
        /// Account name.
        name: Option<String>,
    },
    /// Disable an account: it keeps its password but cannot log in until enabled.
    Disable {
        /// Account name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print effective settings as NAME=value (secrets masked).
    Show {
        /// Only settings that differ from their defaults.
        #[arg(long)]
        modified: bool,
        /// Print values only.
        #[arg(long)]
        values: bool,
        /// Settings to show (default: all).
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs as the settings say; the other commands by -v / -q.
    if !matches!(cli.command, Command::Run { .. }) {
        output::init_logging(cli.verbose, cli.quiet);
    }
    let out = output::Output::new(cli.verbose, cli.quiet);
    match run(cli.command, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("linotp: error: {}", failure.message);
            ExitCode::from(failure.exit as u8)
        }
    }
}

fn run(command: Command, out: &output::Output) -> Result<(), Failure> {
    let settings = commands::load_settings()?;
    match command {
        Command::Init(init) => match init {
            InitCommand::EncKey { force, dump, keys } => {
                commands::init_enc_key(&settings, out, force, dump, keys.as_deref())
            }
            InitCommand::AuditKeys { force } => commands::init_audit_keys(&settings, out, force),
            InitCommand::Database {
                erase_all_data,
                yes,
            } => commands::init_database(&settings, out, erase_all_data, yes),
            InitCommand::All { force } => {
                commands::init_enc_key(&settings, out, force, false, None)?;
                commands::init_audit_keys(&settings, out, force)?;
                commands::init_database(&settings, out, false, false)
            }
        },
        Command::LocalAdmins(admins) => match admins {
            LocalAdminsCommand::List { format, long } => {
                commands::list_admins(&settings, out, format.as_deref(), long)
            }
            LocalAdminsCommand::Add { name, details } => {
                commands::add_admin(&settings, out, &name, details.into())
            }
            LocalAdminsCommand::Modify { name, details } => {
                commands::modify_admin(&settings, out, &name, details.into())
            }
            LocalAdminsCommand::Password { name, password } => {
                commands::set_admin_password(&settings, out, &name, password)
            }
            LocalAdminsCommand::Remove { name, yes } => {
                commands::remove_admin(&settings, out, &name, yes)
            }
            LocalAdminsCommand::Enable { name } => match name {
                Some(name) => commands::enable_admin(&settings, out, &name, true),
                None => commands::enable_admin_realm(&settings, out),
            },
            LocalAdminsCommand::Disable { name } => {
                commands::enable_admin(&settings, out, &name, false)
            }
        },
        Command::Config(ConfigCommand::Show {
            modified,
            values,
            names,
        }) => commands::show_config(&settings, out, modified, values, &names),
        Command::Run { listen } => commands::run_server(&settings, listen),
    }
}

impl From<AdminDetailsArgs> for commands::DetailChanges {
    fn from(args: AdminDetailsArgs) -> Self {
        commands::DetailChanges {
            phone: args.phone,
            mobile: args.mobile,
            email: args.email,
            surname: args.surname,
            givenname: args.givenname,
        }
    }
}
