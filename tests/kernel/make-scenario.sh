#!/usr/bin/env bash
# Builds the kernel bisection scenario: a git repository at DEST holding
# Debian's linux-source-6.1 as release v6.1, then the commits in patches/
# (docs-only commits, a build breakage and its repair, the culprit that adds
# a WARNING reachable from prctl(2), an unrelated lseek(2) WARNING the
# reproducer hits in some runs, unrelated code changes, and the fix).
#
# Usage: tests/kernel/make-scenario.sh DEST
# Tags: v6.1 (the base), scenario-bad (crashes: the bad end of the cause
# bisection and the start of the fix bisection).
# Branch: master (the last commit; the bug is fixed there).
# Commit dates and identities are fixed, so for one tarball the hashes are
# stable (a newer linux-source-6.1 package gives other hashes).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tarball="${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}"
dest="${1:?usage: $0 DEST}"

[ -f "$tarball" ] || { echo "missing $tarball (apt install linux-source-6.1)" >&2; exit 1; }
[ ! -e "$dest" ] || { echo "$dest already exists" >&2; exit 1; }

mkdir -p "$dest"
# The tarball holds one directory, linux-source-6.1/.
tar -xJf "$tarball" -C "$dest" --strip-components=1

cd "$dest"
# Only arch/x86 is ever configured: the other architectures are 1/5 of the
# files and would only slow git down. Their Kconfig and Makefile files stay:
# crypto/Kconfig sources arch/*/crypto/Kconfig, and fs/hostfs/Makefile
# includes arch/um/scripts/Makefile.rules (read by make distclean).
find arch -mindepth 1 -maxdepth 1 -type d ! -name x86 -print0 |
  xargs -0 -I{} find {} -type f ! -name 'Kconfig*' ! -name 'Makefile*' -delete
find arch -type d -empty -delete
# Debian's .gitignore ignores every top-level path ("/*") and lacks
# upstream's exceptions for dot-files: without them no .gitignore would be
# committed and build products would show as untracked files.
sed -i '/^# Debian packaging/,$d' .gitignore
cat >> .gitignore <<'IGNORE'
# We don't want to ignore the following even if they are dot-files
!.clang-format
!.cocciconfig
!.get_maintainer.ignore
!.gitattributes
!.gitignore
!.mailmap
!.rustfmt.toml
IGNORE

export GIT_AUTHOR_NAME="Linux Release" GIT_AUTHOR_EMAIL="release@scenario.example.org"
export GIT_COMMITTER_NAME="Scenario Committer" GIT_COMMITTER_EMAIL="committer@scenario.example.org"
export GIT_AUTHOR_DATE="2023-01-01T00:00:00Z" GIT_COMMITTER_DATE="2023-01-01T00:00:00Z"
git init -q -b master .
git config user.name "$GIT_COMMITTER_NAME"
git config user.email "$GIT_COMMITTER_EMAIL"
git config gc.auto 0
git add -A
git commit -q -m "Linux $(make -s kernelversion)"
git tag v6.1
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE

# Each patch carries its author, date and message; the committer date is
# the author date, so hashes do not depend on when the script runs.
# scenario-bad: the last commit before the fix bisection's range, after the
# culprit; the reproducer crashes there (patch 0021, a docs-only commit).
patches=("$here"/patches/*.patch)
git am -q --committer-date-is-author-date "${patches[@]:0:21}"
git tag scenario-bad
git am -q --committer-date-is-author-date "${patches[@]:21}"
echo "scenario ready in $dest: $(git rev-list --count v6.1..master) commits after v6.1"
