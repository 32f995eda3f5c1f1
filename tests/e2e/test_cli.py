"""End-to-end tests of the command line itself: every mistake gets one line on standard error that
names the option or command and what it expects (with "did you mean" for a near miss) and exit
status 2; `tlslab help CMD` is `CMD --help`; --help shows no parser notation; the exit codes are
listed once; the man page and the bash completion follow the definitions."""
import re

import pytest

COMMANDS = ["connect", "serve", "ca", "cert", "proxy", "lab", "scan"]
SUBCOMMANDS = [["ca", s] for s in ("init", "issue", "sign", "rehash", "export", "trust")] + [["cert", "show"]]


def usage_error(tlslab, *args):
    """Runs tlslab with a wrong command line; returns its one line of complaint."""
    proc = tlslab(*args)
    assert proc.returncode == 2, (args, proc.returncode, proc.out, proc.err)
    assert proc.out == ""
    lines = proc.err.splitlines()
    assert len(lines) == 1, (args, proc.err)
    assert "Run with --help" not in proc.err
    return lines[0]


@pytest.mark.parametrize("args,line", [
    # unknown commands: a near miss is named, otherwise the choices are
    (["conect"], "tlslab: unknown command conect; did you mean connect?"),
    (["sreve"], "tlslab: unknown command sreve; did you mean serve?"),
    (["frobnicate"], "tlslab: unknown command frobnicate; the commands are connect, serve, ca, cert, proxy, lab "
                     "or scan"),
    (["ca", "isue", "a.test"], "tlslab ca: unknown command isue; did you mean issue?"),
    (["ca", "frob"], "tlslab ca: unknown command frob; the commands are init, issue, sign, rehash, export or trust"),
    (["cert", "shw", "x.pem"], "tlslab cert: unknown command shw; did you mean show?"),
    (["help", "conect"], "tlslab: unknown command conect; did you mean connect?"),
    (["help", "ca", "isue"], "tlslab ca: unknown command isue; did you mean issue?"),
    # a command that needs one
    (["ca"], "tlslab ca: missing command: init, issue, sign, rehash, export or trust (tlslab ca --help says what "
             "each does)"),
    (["cert"], "tlslab cert: missing command: show (tlslab cert --help says what each does)"),
    # unknown options
    (["connect", "--cacrt", "ca.pem", "example.com"], "tlslab connect: unknown option --cacrt; did you mean --cacert?"),
    (["connect", "--insecur", "example.com"], "tlslab connect: unknown option --insecur; did you mean --insecure?"),
    (["ca", "issue", "a.test", "--key-typ", "ec-p384"],
     "tlslab ca issue: unknown option --key-typ; did you mean --key-type?"),
    (["ca", "trust", "--sytem"], "tlslab ca trust: unknown option --sytem; did you mean --system?"),
    (["serve", "--listne", "127.0.0.1:0"], "tlslab serve: unknown option --listne; did you mean --listen?"),
    (["proxy", "--upstream-insecur"], "tlslab proxy: unknown option --upstream-insecur; did you mean "
                                      "--upstream-insecure?"),
    (["lab", "--tsk", "1a"], "tlslab lab: unknown option --tsk; did you mean --task?"),
    (["scan", "--concurency", "2", "h"], "tlslab scan: unknown option --concurency; did you mean --concurrency?"),
    (["--frob"], "tlslab: unknown option --frob (tlslab --help lists the options)"),
    (["--cacert", "ca.pem", "connect", "h"],
     "tlslab: --cacert is an option of tlslab connect or tlslab scan: put it after the command"),
    # missing values and arguments
    (["connect"], "tlslab connect: missing TARGET: HOST[:PORT] or https://HOST[:PORT]/PATH (default port 443)"),
    (["connect", "example.com", "--cacert"],
     "tlslab connect: --cacert needs FILE (Trust the CA certificates in FILE instead of the system store)"),
    (["ca", "issue", "a.test", "--days="], "tlslab ca issue: --days needs N (validity in days (browsers cap leaves "
                                           "at 398))"),
    (["connect", "-kz", "example.com"], "tlslab connect: unknown option -z (tlslab connect --help lists the options)"),
    (["connect", "example.com", "-kqo"],
     "tlslab connect: --output needs FILE (Write the body to FILE (byte-exact, only when complete))"),
    (["connect", "example.com", "-o"],
     "tlslab connect: --output needs FILE (Write the body to FILE (byte-exact, only when complete))"),
    (["ca", "issue"], "tlslab ca issue: missing NAMES: names to certify; the first becomes the common name and the "
                      "file name"),
    (["ca", "issue", "a.test", "--key-type"], "tlslab ca issue: --key-type needs KIND (the key: ec-p256, ec-p384, "
                                              "rsa-2048, rsa-3072, rsa-4096, ed25519)"),
    (["ca", "export"], "tlslab ca export: missing --capath DIR (DIR to copy the CA into (created if needed))"),
    (["proxy", "--mode"], "tlslab proxy: --mode needs MODE (sni (default), explicit (HTTP CONNECT proxy) or reverse)"),
    # values of the wrong type
    (["connect", "example.com", "--connect-timeout", "soon"],
     "tlslab: --connect-timeout 'soon': not a number of seconds (e.g. 10 or 2.5)"),
    (["ca", "issue", "a.test", "--days", "many"], 'tlslab ca issue: --days expects a whole number, not "many"'),
    (["scan", "h", "--concurrency", "x"], 'tlslab scan: --concurrency expects a whole number, not "x"'),
    (["ca", "trust", "--system=maybe"],
     'tlslab ca trust: --system is a switch: give it alone (or =true, =false), not "maybe"'),
    # extra arguments
    (["connect", "a.example", "b.example"], "tlslab connect: unexpected argument b.example: connect takes one TARGET"),
    (["lab", "extra"], "tlslab lab: unexpected argument extra: lab takes options only"),
    (["lab", "json"], "tlslab lab: unexpected argument json; did you mean --json?"),
    (["cert", "show", "a.pem", "b.pem"], "tlslab cert show: unexpected argument b.pem: show takes one FILE"),
    # options that go together, or not
    (["ca", "init", "--intermediate"], "tlslab ca init: --intermediate needs --parent DIR too"),
    (["ca", "init", "--parent", "root"], "tlslab ca init: --parent needs --intermediate too"),
    (["ca", "sign", "req.csr", "a.test", "--copy-sans"], "tlslab ca sign: --copy-sans and NAMES cannot be used together"),
])
def test_usage_errors_are_one_line(tlslab, args, line):
    assert usage_error(tlslab, *args) == line


def test_every_command_explains_a_typo(tlslab):
    """A typo'd option on any command or subcommand gets a suggestion from that command's own options."""
    for path in [[c] for c in COMMANDS if c not in ("ca", "cert")] + SUBCOMMANDS:
        line = usage_error(tlslab, *path, "--hepl")
        assert line == f"tlslab {' '.join(path)}: unknown option --hepl; did you mean --help?"


@pytest.mark.parametrize("path", [[c] for c in COMMANDS] + SUBCOMMANDS)
def test_help_command_is_dash_dash_help(tlslab, path):
    via_help = tlslab("help", *path, check=0)
    assert via_help.out == tlslab(*path, "--help", check=0).out
    assert via_help.out.startswith(tlslab(*path, "-h", check=0).out.splitlines()[0])
    if path[0] in ("ca", "cert") and len(path) == 2:
        assert tlslab(path[0], "help", path[1], check=0).out == via_help.out


def test_help_never_runs_the_command(tlslab, tmp_path):
    """Words after the command's name do not turn `help` into running it."""
    proc = tlslab("help", "ca", "issue", "a.test", "--dir", tmp_path / "none", check=0)
    assert proc.out.startswith("Issue a certificate") and proc.err == ""
    assert not (tmp_path / "none").exists() and not list(tmp_path.iterdir())


def test_help_alone_is_the_top_level_help(tlslab):
    assert tlslab("help", check=0).out == tlslab("--help", check=0).out


def test_top_level_help_lists_the_documentation_flags_and_exit_codes(tlslab):
    out = tlslab("--help", check=0).out
    assert re.search(r"^  --man +Print the manual page", out, re.M)
    assert re.search(r"^  --bash-completion +Print the bash completion script", out, re.M)
    assert "Commands:\n  connect" in out
    assert "Exit codes:\n   0  success" in out


@pytest.mark.parametrize("path", [[c] for c in COMMANDS] + SUBCOMMANDS)
def test_help_shows_no_parser_notation(tlslab, path):
    out = tlslab(*path, "--help", check=0).out
    for leak in ("Needs:", "Excludes:", "REQUIRED", "{false}", "{true}", " TEXT", " INT", " UINT", " FLOAT",
                 "SUBCOMMAND", "Positionals", "Subcommands"):
        assert leak not in out, (path, leak, out)
    # Defaults ("--days INT=3650") and repetition ("--nss TEXT ...") are said in the description.
    for name in re.findall(r"^  (-\S.*?)(?:  |$)", out, re.M):
        assert " ..." not in name and "=" not in name.replace("NAME=CERT,KEY", ""), (path, name)
    # The exit code table is said once, at the top level and in the man page.
    assert "Exit codes:" not in out


def test_help_says_defaults_and_switches_in_words(tlslab):
    out = tlslab("ca", "trust", "--help", check=0).out
    assert re.search(r"^  --system, --no-system +include the Debian system store", out, re.M)
    out = tlslab("ca", "init", "--help", check=0).out
    assert re.search(r"^  --key-type KIND +the key: ec-p256, .* \(default: ec-p256\)$", out, re.M)
    assert re.search(r"^  --days N +validity in days \(default: 3650\)$", out, re.M)
    assert re.search(r"^  --parent DIR +folder of the CA that signs the intermediate$", out, re.M)
    out = tlslab("ca", "export", "--help", check=0).out
    assert re.search(r"^  --capath DIR +.*\(required\)$", out, re.M)
    out = tlslab("connect", "--help", check=0).out
    assert "Usage: tlslab connect [OPTIONS] TARGET\n" in out
    assert re.search(r"^  -k, --insecure +Report", out, re.M)
    assert re.search(r"^  --resolve HOST:PORT:ADDR +use ADDR for HOST:PORT", out, re.M)
    assert "Usage: tlslab ca issue [OPTIONS] NAMES...\n" in tlslab("ca", "issue", "--help", check=0).out


def test_man_page_and_completion_follow_the_definitions(tlslab):
    man = tlslab("--man", check=0).out
    assert man.count("Exit codes:") == 1 and '.SH "EXIT STATUS"' in man
    assert ".B \\-\\-man\n" in man and "\\fBtlslab help\\fR" in man
    assert "\\-\\-key\\-type KIND" in man
    assert "Needs:" not in man and "{false}" not in man
    completion = tlslab("--bash-completion", check=0).out
    ca_words = re.search(r'^    ca\) words="([^"]*)"', completion, re.M).group(1).split()
    assert "--key-type" in ca_words and "--key" not in ca_words and "--count" not in ca_words
    assert re.search(r'^    help\) words="connect serve ca cert proxy lab scan *"', completion, re.M)
    assert "--man" in completion and "ec-p384" in completion
