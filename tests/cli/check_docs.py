#!/usr/bin/env python3
"""tests/cli/check_docs.py: fails if docs/cli.md and the barstore binary disagree.

- Every command `barstore --help` lists has a `## COMMAND` section whose synopsis (its first plain
  ``` block, the lines that begin `barstore COMMAND`) names exactly the options of
  `barstore COMMAND --help` (no missing one, no extra one) and its positionals; each option is
  also explained in the section's text, outside any ``` block.
- A `## WORD` section with a synopsis for a command that does not exist fails; any `--option`
  written anywhere in the file must exist in some command (or be --help/--version).
- Every ```console block is run, in order, in one directory where `data` is $SHARED/data and
  `barstore` is the binary: each `$ COMMAND` line runs in bash with stderr merged into stdout, and
  what it prints must equal the lines under it (a `...` line stands for any lines). It must exit
  0, or N when the line ends with `# exits N`.
Usage: check_docs.py BARSTORE SHARED CLI_MD
       check_docs.py --self-test BARSTORE SHARED CLI_MD: shows each check can fail (an option line
       removed from a synopsis, an option that does not exist, a changed output line).
"""
import os
import re
import subprocess
import sys
import tempfile

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
GLOBAL = {"--help", "--version"}


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def help_lists(barstore, sub=None):
    """(options, positionals) of `barstore SUB --help`, or the commands of `barstore --help`."""
    out = run([barstore] + ([sub] if sub else []) + ["--help"]).stdout
    block = None
    opts, positionals, commands = set(), [], []
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            block = line[:-1]
            continue
        if not line.startswith("  ") or line.startswith("   "):
            continue
        first = line.split()[0]
        if block == "Subcommands":
            commands.append(first)
        elif block == "Positionals":
            positionals.append(first)
        elif block == "Options":
            opts.update(o for o in first.split(",") if o.startswith("--"))
    return commands if sub is None else (opts - GLOBAL, positionals)


def sections(text):
    """{heading: (body lines)} for every `## ` heading."""
    out, name = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = []
        elif name is not None:
            out[name].append(line)
    return out


def synopsis(body, command):
    """The lines of the section's first plain ``` block that belong to `barstore COMMAND ...`."""
    inside, lines, seen = False, [], False
    for line in body:
        if line.strip().startswith("```"):
            if inside and seen:
                return lines
            inside = line.strip() == "```"
            continue
        if inside and (line.startswith("barstore " + command) or (lines and line.startswith(" "))):
            lines.append(line)
            seen = True
    return lines if seen else None


def outside_fences(body):
    """The lines of a section that are not in a ``` block: where options are explained."""
    inside, out = False, []
    for line in body:
        if line.strip().startswith("```"):
            inside = not inside
        elif not inside:
            out.append(line)
    return out


def check_options(barstore, text):
    bad = []
    secs = sections(text)
    commands = help_lists(barstore)
    every = set(GLOBAL)
    for c in commands:
        opts, positionals = help_lists(barstore, c)
        every |= opts
        if c not in secs:
            bad.append(f"no '## {c}' section for the command {c}")
            continue
        syn = synopsis(secs[c], c)
        if syn is None:
            bad.append(f"## {c}: no synopsis (a ``` block starting 'barstore {c}')")
            continue
        syn_text = "\n".join(syn)
        in_syn = set(OPTION.findall(syn_text))
        for o in sorted(opts - in_syn):
            bad.append(f"## {c}: {o} is in 'barstore {c} --help' but not in the synopsis")
        for o in sorted(in_syn - opts):
            bad.append(f"## {c}: the synopsis has {o}, which 'barstore {c} --help' does not list")
        for p in positionals:
            if not re.search(r"\b" + re.escape(p) + r"\b", syn_text):
                bad.append(f"## {c}: the positional {p} is not in the synopsis")
        prose = "\n".join(outside_fences(secs[c]))
        for o in sorted(opts):
            if not re.search(re.escape(o) + r"(?![\w-])", prose):
                bad.append(f"## {c}: {o} is in the synopsis but never explained")
    for name, body in secs.items():
        word = name.split()[0]
        if word not in commands and re.fullmatch(r"[a-z]+", name) and synopsis(body, word) is not None:
            bad.append(f"## {name}: documents a command that 'barstore --help' does not list")
    for n, line in enumerate(text.splitlines(), 1):
        for o in OPTION.findall(line):
            if o not in every:
                bad.append(f"cli.md:{n}: {o} is not an option of any command")
    return bad


def console_blocks(text):
    """[(line number, [(command, exit, expected lines)])] for every ```console block."""
    blocks, cur = [], None
    for n, line in enumerate(text.splitlines(), 1):
        if cur is None:
            if line.strip() == "```console":
                cur = (n, [])
            continue
        if line.strip() == "```":
            blocks.append(cur)
            cur = None
        elif line.startswith("$ "):
            m = re.search(r"#\s*exits\s+(\d+)\s*$", line)
            cur[1].append((line[2:], int(m.group(1)) if m else 0, []))
        elif cur[1]:
            cur[1][-1][2].append(line)
    return blocks


def matches(expected, actual):
    """expected equals actual, each `...` line in expected standing for any number of lines."""
    if "..." not in expected:
        return expected == actual
    i = expected.index("...")
    head, rest = expected[:i], expected[i + 1:]
    if actual[:len(head)] != head:
        return False
    return any(matches(rest, actual[j:]) for j in range(len(head), len(actual) + 1))


def check_examples(barstore, shared, text):
    bad = []
    with tempfile.TemporaryDirectory() as work:
        os.symlink(os.path.join(shared, "data"), os.path.join(work, "data"))
        bindir = os.path.join(work, ".bin")
        os.mkdir(bindir)
        os.symlink(barstore, os.path.join(bindir, "barstore"))
        env = {"PATH": bindir + ":/usr/bin:/bin", "HOME": work, "LC_ALL": "C", "TZ": "UTC"}
        for start, commands in console_blocks(text):
            for command, want_exit, expected in commands:
                r = subprocess.run(["bash", "-c", command], cwd=work, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                actual = r.stdout.splitlines()
                if r.returncode != want_exit:
                    bad.append(f"cli.md:{start}: '{command}' exited {r.returncode}, not {want_exit}")
                if not matches(expected, actual):
                    bad.append(f"cli.md:{start}: '{command}' printed:\n" + "\n".join("    " + l for l in actual) +
                               "\n  not:\n" + "\n".join("    " + l for l in expected))
    return bad


def check(barstore, shared, text):
    return check_options(barstore, text) + check_examples(barstore, shared, text)


def self_test(barstore, shared, text):
    """Each mutation of a passing cli.md must fail the check."""
    base = check_options(barstore, text)
    ok = not base  # a mutation is only caught if the text passed before it
    if base:
        print("self-test: cli.md fails as it is: " + base[0])
    syn_line = next(l for l in text.splitlines() if l.startswith("barstore verify"))
    mutations = {
        "an option removed from a synopsis": text.replace(syn_line, syn_line.replace(" [--deep]", ""), 1),
        "an option that does not exist": text.replace(syn_line, syn_line + " [--fast]", 1),
        "an option's line removed": "\n".join(l for l in text.splitlines() if not l.startswith("- `--deep`")),
    }
    for what, mutated in mutations.items():
        found = check_options(barstore, mutated)
        print(f"self-test, {what}: " + (found[0] if found else "NOT CAUGHT"))
        ok = ok and any("--deep" in f or "--fast" in f for f in found) and mutated != text
    out_line = next(i for i, l in enumerate(text.splitlines()) if l.startswith("ok: "))
    lines = text.splitlines()
    lines[out_line] = lines[out_line].replace("ok:", "OK:")
    found = check_examples(barstore, shared, "\n".join(lines))
    print("self-test, a changed output line: " + (found[0].splitlines()[0] if found else "NOT CAUGHT"))
    return ok and bool(found)


def main():
    args = sys.argv[1:]
    test = args[:1] == ["--self-test"]
    if test:
        args = args[1:]
    barstore, shared, md = os.path.realpath(args[0]), os.path.realpath(args[1]), args[2]
    with open(md) as f:
        text = f.read()
    if test:
        ok = self_test(barstore, shared, text)
        print("check_docs self-test: " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    bad = check(barstore, shared, text)
    for b in bad:
        print(b)
    print(f"{md}: " + (f"{len(bad)} problems" if bad else "agrees with the binary"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
