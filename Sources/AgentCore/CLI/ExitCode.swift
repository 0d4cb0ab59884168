/// Process exit statuses, from sysexits(3) where one fits.
public enum ExitCode {
  public static let ok: Int32 = 0
  /// A check or operation failed (selftest found a fault).
  public static let failure: Int32 = 1
  /// EX_USAGE: unknown subcommand or flag, missing argument.
  public static let usage: Int32 = 64
  /// EX_DATAERR: an argument is well formed but refused (an `attest` audience
  /// that is not the factory verify URL).
  public static let dataError: Int32 = 65
  /// EX_UNAVAILABLE: `pair` found no running agent holding the vault (none
  /// runs, or its vault holds no identity yet); nothing was signalled.
  public static let unavailable: Int32 = 69
  /// EX_SOFTWARE: an internal error.
  public static let software: Int32 = 70
  /// EX_CANTCREAT: `provision` on a board that already has an identity (no --force).
  public static let alreadyProvisioned: Int32 = 73
  /// EX_TEMPFAIL: `wipe`, `reauth`, `provision` or `run` while another
  /// process (the running daemon) owns the vault; nothing was changed. Stop
  /// the daemon and try again.
  public static let busy: Int32 = 75
  /// EX_NOPERM: `pair` refused the vault lock's holder: it is not the
  /// agent's user (PairPermission), or the caller may not signal it.
  public static let noPermission: Int32 = 77
  /// EX_CONFIG: the configuration file is missing (when named) or invalid.
  public static let config: Int32 = 78
}
