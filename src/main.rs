fn main() -> std::process::ExitCode {
    cruddur_infra::cli::main()
}
