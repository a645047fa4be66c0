#!/usr/bin/env python3
"""The repository's documentation must not point at what the repository lacks,
and the error lines it shows must be what the binaries print.

  check_docs.py refs <source dir>
      Every tracked text file: each mention of a markdown file (a word ending
      in `.md`, e.g. `proto/README.md`) names a file that exists, relative to
      the mentioning file or to the top of the tree. Every tracked *.md file:
      each relative link `[text](path)` / `[text](path#anchor)` resolves to a
      file or directory that exists, and each `#anchor` to a heading of the
      target (GitHub's rule: lower case, punctuation dropped, spaces to `-`).
      Every `code span` in a *.md file that reads as a path in this tree (its
      first part is one of the tree's top-level directories, e.g.
      `deploy/systemd/`, `services/feeder/servo.c`, `common/mqttc` for the
      module mqttc.c/.h) exists, or is a path git ignores (generated output).
      The brief the project grew from is not in the tree: a bare DESIGN (or
      its file name) anywhere is a reference to nothing.

  check_docs.py errors <source dir> <bin dir>
      Every line of a tracked text file that shows a start-up error,
      `iod-<service>: IOD_<SETTING>: '<value>' ...` (in a README, an indented
      or fenced example, or a comment), is checked against the real binary:
      `<bin dir>/iod-<service>` run with only IOD_<SETTING>=<value> set (or,
      for "--flag needs a value" and "not accepted as a flag", with that flag)
      must exit with status 2 and print exactly that line first on stderr.

  check_docs.py settings <source dir> <bin dir>
      Every row of a table in a tracked *.md file that documents settings
      (its first cell is `IOD_...` names) names settings some iod-<service>
      --help lists, with the flag --help gives it when a cell shows the flag,
      and, for a row of one setting, the default --help prints when the next
      cell is one `value` (`<service>` stands for the service's name).
      Settings of the scripts (IOD_UP_*, IOD_INIT_*, IOD_COMPOSE_*) are not
      the binaries' and are left alone.

Exit status 0 when everything holds, 1 with one line per problem otherwise.
"""
import os
import re
import subprocess
import sys
import tempfile

SELF = os.path.relpath(__file__, os.path.dirname(os.path.abspath(__file__)))

# Build trees and installed packages are not the repository's text.
SKIP_DIRS = {".git", "node_modules", "out"}


def tracked_files(top):
    """Paths (relative to top) of the files git tracks, or of every file under
    top outside build and package directories when this is not a git tree."""
    try:
        out = subprocess.run(["git", "-C", top, "ls-files", "-z"], check=True,
                             capture_output=True).stdout
        files = [p for p in out.decode("utf-8").split("\0") if p]
        if files:
            # A file deleted in the work tree but not yet in the index is gone.
            return [p for p in files if os.path.isfile(os.path.join(top, p))]
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for root, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs
                   if d not in SKIP_DIRS and not d.startswith("build")]
        for n in names:
            files.append(os.path.relpath(os.path.join(root, n), top))
    return files


def read_text(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data:
        return None  # binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def is_checker(rel):
    return os.path.normpath(rel).endswith(os.path.join("tests", "unit", "docs", "check_docs.py"))


# ---- refs -------------------------------------------------------------------

# A markdown file named in prose, a comment or a link: `proto/README.md`,
# ../DESIGN.md, README.md#anchor. Not part of a URL (checked by the caller).
MD_MENTION = re.compile(r"(?<![\w./-])((?:\.{1,2}/)*[\w.-]+(?:/[\w.-]+)*\.md)(?![\w-])")
# "DESIGN: ..." or "the DESIGN's": the brief by its bare name.
BRIEF = re.compile(r"\bDESIGN\b(?!\.md)")
URL_BEFORE = re.compile(r"[a-z][a-z0-9+.-]*://\S*$")

LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def resolve(top, rel_file, target):
    """The path target names, relative to the mentioning file's directory or
    to the top of the tree, if it exists; else None."""
    here = os.path.dirname(rel_file)
    for base in (here, ""):
        cand = os.path.normpath(os.path.join(base, target))
        if cand.startswith(".."):
            continue
        if os.path.exists(os.path.join(top, cand)):
            return cand
    return None


def strip_code(lines, inline=True):
    """Markdown lines with fenced blocks blanked and (inline) inline code
    removed, so an example's brackets are not taken for links."""
    out, fenced = [], None
    for line in lines:
        m = FENCE.match(line)
        if m:
            if fenced is None:
                fenced = m.group(1)
            elif m.group(1) == fenced:
                fenced = None
            out.append("")
            continue
        out.append("" if fenced else INLINE_CODE.sub("", line) if inline else line)
    return out


def slug(text):
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    # HTML tags go, except inside code spans (`iod/<site>/...` keeps "site").
    parts = re.split(r"(`[^`]*`)", text)
    text = "".join(p[1:-1] if p.startswith("`") else re.sub(r"</?[a-zA-Z][^>]*>", "", p)
                   for p in parts)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchor_cache = {}


def anchors(top, rel):
    if rel in _anchor_cache:
        return _anchor_cache[rel]
    found = set()
    text = read_text(os.path.join(top, rel)) or ""
    seen = {}
    fenced = None
    for line in text.splitlines():
        m = FENCE.match(line)
        if m:
            fenced = m.group(1) if fenced is None else (None if m.group(1) == fenced else fenced)
            continue
        if fenced:
            continue
        h = HEADING.match(line)
        if not h:
            continue
        s = slug(h.group(2))
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else "%s-%d" % (s, n))
    for m in re.finditer(r"<a\s+(?:name|id)=\"([^\"]+)\"", text):
        found.add(m.group(1))
    _anchor_cache[rel] = found
    return found


CODE_SPAN = re.compile(r"`([^`\s]+)`")
NOT_A_PATH = re.compile(r"[<>*$%{}=:@?\\|\[\]]")


def git_ignored(top, paths):
    """The subset of paths that git ignores (all of them when git cannot say)."""
    if not paths:
        return set()
    # A directory pattern (/tests/browser/out/) matches a path that does not
    # exist only when it is asked about as a directory.
    asked = list(paths) + [p + "/" for p in paths]
    try:
        p = subprocess.run(["git", "-C", top, "check-ignore", "--no-index", "--stdin"],
                           input="\n".join(asked).encode(), capture_output=True)
    except OSError:
        return set(paths)
    if p.returncode not in (0, 1):
        return set(paths)
    said = {line.rstrip("/") for line in p.stdout.decode().split("\n")}
    return said & set(paths)


def path_spans(top, rel, lines, tracked, dirs, tops):
    """(line, span) of every code span in a markdown file's prose that names a
    path in the tree which does not exist."""
    missing = []
    for no, line in enumerate(strip_code(lines, inline=False), 1):
        for m in CODE_SPAN.finditer(line):
            span = m.group(1)
            if "/" not in span or NOT_A_PATH.search(span) or span.startswith(("/", "~")):
                continue
            path = span.split("#")[0].rstrip("/")
            if path.startswith("./"):
                path = path[2:]
            here = os.path.dirname(rel)
            head = path.split("/")[0]
            if head == "..":
                # ../proto/README.md: a path from this file's directory up.
                up = os.path.normpath(os.path.join(here, path))
                qualifies = not up.startswith("..") and up.split(os.sep)[0] in tops
            else:
                # proto/README.md from the top, or mosquitto/acl.template next
                # to deploy/README.md; feeder/cmd (a topic) is neither.
                qualifies = head in tops or (here and os.path.join(here, head) in dirs)
            if not qualifies:
                continue
            found = False
            for base in (os.path.dirname(rel), ""):
                q = os.path.normpath(os.path.join(base, path))
                if q in tracked or q in dirs or q + ".c" in tracked or q + ".h" in tracked:
                    found = True
            if not found:
                missing.append((no, span, os.path.normpath(path)))
    return missing


def check_refs(top):
    problems = []
    files = tracked_files(top)
    tracked = set(files)
    dirs = set()
    for f in files:
        parts = f.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    tops = {f.split("/")[0] for f in files if "/" in f}
    spans = []
    for rel in sorted(files):
        if is_checker(rel):
            continue
        text = read_text(os.path.join(top, rel))
        if text is None:
            continue
        lines = text.splitlines()
        for no, line in enumerate(lines, 1):
            if BRIEF.search(line):
                problems.append("%s:%d: refers to the brief this tree grew from, which is not "
                                "in it; point at docs/design.md" % (rel, no))
            for m in MD_MENTION.finditer(line):
                if URL_BEFORE.search(line[:m.start(1)]):
                    continue
                name = m.group(1)
                if "*" in name or "<" in name:
                    continue
                if resolve(top, rel, name) is None:
                    problems.append("%s:%d: names %s, which this repository does not have"
                                    % (rel, no, name))
        if not rel.endswith(".md"):
            continue
        spans += [(rel, no, span, path)
                  for no, span, path in path_spans(top, rel, lines, tracked, dirs, tops)]
        prose = "\n".join(strip_code(lines))
        targets = []
        for no, line in enumerate(prose.split("\n"), 1):
            for m in LINK.finditer(line):
                targets.append((no, m.group(1)))
        for m in REF_DEF.finditer(prose):
            targets.append((prose.count("\n", 0, m.start()) + 1, m.group(1)))
        for no, target in targets:
            if not target or SCHEME.match(target) or target.startswith("//"):
                continue
            path, _, anchor = target.partition("#")
            if path:
                found = resolve(top, rel, path) if not path.startswith("/") else None
                if found is None:
                    problems.append("%s:%d: link to %s, which does not exist" % (rel, no, path))
                    continue
            else:
                found = rel
            if anchor and found.endswith(".md") and anchor not in anchors(top, found):
                problems.append("%s:%d: link to %s#%s: %s has no such heading"
                                % (rel, no, path or "", anchor, found))
    ignored = git_ignored(top, sorted({p for _, _, _, p in spans}))
    for rel, no, span, path in spans:
        if path not in ignored:
            problems.append("%s:%d: `%s` is not a path in this tree" % (rel, no, span))
    return problems


# ---- errors -----------------------------------------------------------------

# A start-up error shown as an example: at the start of a line, after
# indentation, a list/quote marker or a comment marker, never inside a string
# literal (the code that prints it, the tests that expect it).
EXAMPLE = re.compile(r"^\s*(?:[*#>-]\s*|//\s*)?(iod-(?:feeder|sensors|camera|bridge|notify)): "
                     r"(IOD_[A-Z0-9_]+): (.*?)\s*$")
VALUE = re.compile(r"'([^']*)'")


def run_service(binary, setting, value, timeout_s=30, args=()):
    # Not the journal's format (<N> priority prefixes): what a terminal sees.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IOD_") and k != "JOURNAL_STREAM"}
    if setting:
        env[setting] = value
    with tempfile.TemporaryDirectory(prefix="iod-docs-") as tmp:
        env.setdefault("IOD_DATA_DIR", os.path.join(tmp, "data"))
        # Nothing listens there: a value that does not stop the service at start
        # is seen as a timeout, not as a connection to someone's broker.
        env.setdefault("IOD_MQTT_URL", "tcp://127.0.0.1:1")
        try:
            p = subprocess.run([binary] + list(args), env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None, ""
        return p.returncode, p.stderr.decode("utf-8", "replace")


def check_errors(top, bin_dir):
    problems = []
    checked = 0
    for rel in sorted(tracked_files(top)):
        if is_checker(rel):
            continue
        text = read_text(os.path.join(top, rel))
        if text is None:
            continue
        for no, line in enumerate(text.splitlines(), 1):
            m = EXAMPLE.match(line)
            if not m:
                continue
            program, setting, rest = m.groups()
            shown = "%s: %s: %s" % (program, setting, rest)
            where = "%s:%d" % (rel, no)
            # How to make the binary say it: the setting in the environment
            # with the quoted value; a flag given without its value; a secret
            # given as a flag.
            v = VALUE.search(rest)
            needs = re.match(r"(--[a-z0-9-]+) needs a value", rest)
            as_flag = "not accepted as a flag" in rest
            flag = "--" + setting[4:].lower().replace("_", "-")
            if needs:
                how, env_value, args = needs.group(1), None, [needs.group(1)]
            elif as_flag:
                how, env_value, args = flag + "=secret", None, [flag + "=secret"]
            elif v:
                how, env_value, args = "%s=%s" % (setting, v.group(1)), v.group(1), []
            else:
                problems.append("%s: example error '%s' quotes no value to set %s to; show "
                                "the value as '...' so it can be checked" % (where, shown, setting))
                continue
            binary = os.path.join(bin_dir, program)
            if not os.access(binary, os.X_OK):
                problems.append("%s: %s not built in %s" % (where, program, bin_dir))
                continue
            value = how
            code, err = run_service(binary, setting if env_value is not None else None,
                                    env_value, args=args)
            checked += 1
            first = err.splitlines()[0] if err else ""
            if code is None:
                problems.append("%s: %s with %s did not stop at start (the docs say: %s)"
                                % (where, program, value, shown))
            elif code != 2 or first != shown:
                problems.append("%s: %s with %s exits %d and prints\n    %s\n  the docs show\n    %s"
                                % (where, program, value, code, first, shown))
    if checked == 0 and not problems:
        problems.append("no example error line found: the pattern or the docs changed")
    return problems


# ---- settings ---------------------------------------------------------------

SERVICES = ("feeder", "sensors", "camera", "bridge", "notify")
HELP_ENTRY = re.compile(r"^  (--[a-z0-9-]+)=\S+\s+\((IOD_[A-Z0-9_]+)\)\n(?:  --\S+\s+\(IOD_[A-Z0-9_]+\)\n)?"
                        r"\s+(.*)$", re.M)
HELP_DEFAULT = re.compile(r"\[(?:secret; )?default: (.*)\]$")
SCRIPT_SETTING = re.compile(r"^IOD_(UP|INIT|COMPOSE)_")
CELL_SPLIT = re.compile(r"(?<!\\)\|")
ONE_CODE = re.compile(r"^`([^`]*)`$")


def service_settings(bin_dir):
    """{setting: {"flag": "--x", "defaults": {service: text or None}}} from
    every binary's --help."""
    settings = {}
    for svc in SERVICES:
        binary = os.path.join(bin_dir, "iod-" + svc)
        try:
            out = subprocess.run([binary, "--help"], capture_output=True, timeout=30,
                                 stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            continue
        for m in HELP_ENTRY.finditer(out):
            flag, name, help_line = m.groups()
            d = HELP_DEFAULT.search(help_line)
            e = settings.setdefault(name, {"flag": flag, "defaults": {}})
            e["defaults"][svc] = d.group(1) if d else None
    return settings


def check_settings(top, bin_dir):
    problems = []
    known = service_settings(bin_dir)
    if not known:
        return ["no iod-<service> --help could be read from %s" % bin_dir]
    rows = 0
    for rel in sorted(tracked_files(top)):
        if not rel.endswith(".md") or is_checker(rel):
            continue
        lines = strip_code((read_text(os.path.join(top, rel)) or "").splitlines(), inline=False)
        for no, line in enumerate(lines, 1):
            if not line.lstrip().startswith("|"):
                continue
            cells = [c.strip() for c in CELL_SPLIT.split(line.strip().strip("|"))]
            names = re.findall(r"`(IOD_[A-Z0-9_]+)`", cells[0])
            if not names or re.sub(r"`[^`]*`|[\s,/()]|or|and", "", cells[0]):
                continue  # not a settings row (prose around the names)
            where = "%s:%d" % (rel, no)
            names = [n for n in names if not SCRIPT_SETTING.match(n)]
            if not names:
                continue
            rows += 1
            for n in names:
                base = n[:-5] if n.endswith("_FILE") and n[:-5] in known else n
                if base not in known:
                    problems.append("%s: documents %s, which no iod-<service> --help lists"
                                    % (where, n))
            if any(n not in known for n in names):
                continue
            rest = cells[1:]
            flags = re.findall(r"`(--[a-z0-9-]+)`", rest[0]) if rest else []
            if flags and not re.sub(r"`[^`]*`|[\s,/]", "", rest[0]):
                want = [known[n]["flag"] for n in names]
                if flags != want:
                    problems.append("%s: shows the flag(s) %s for %s; --help says %s"
                                    % (where, ", ".join(flags), ", ".join(names), ", ".join(want)))
                rest = rest[1:]
            if len(names) != 1 or not rest:
                continue
            m = ONE_CODE.match(rest[0])
            if not m:
                continue
            shown = m.group(1)
            defaults = known[names[0]]["defaults"]
            ok = any(d is not None and (d == shown or d == shown.replace("<service>", svc))
                     for svc, d in defaults.items())
            if not ok:
                said = sorted(set("none" if d is None else d for d in defaults.values()))
                problems.append("%s: %s's default is shown as `%s`; --help says %s"
                                % (where, names[0], shown, " / ".join(said)))
    if rows == 0 and not problems:
        problems.append("no settings table found: the pattern or the docs changed")
    return problems


def main(argv):
    if len(argv) >= 3 and argv[1] == "refs":
        problems = check_refs(argv[2])
    elif len(argv) >= 4 and argv[1] == "errors":
        problems = check_errors(argv[2], os.path.abspath(argv[3]))
    elif len(argv) >= 4 and argv[1] == "settings":
        problems = check_settings(argv[2], os.path.abspath(argv[3]))
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        print("%d problem(s)" % len(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
