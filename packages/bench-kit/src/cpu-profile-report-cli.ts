/**
 * `node packages/bench-kit/dist/src/cpu-profile-report-cli.js <dir>`: for a directory a
 * benchmark wrote with BENCH_CPU_PROF (its `*.cpuprofile` files and `windows.json`), prints for
 * each profile and each measured window how its samples split into categories
 * (see cpu-profile-report.ts). Windows in which a process was idle throughout are skipped.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type CpuProfile, reportCpuProfile } from "./cpu-profile-report.js";

const dir = process.argv[2];
if (dir === undefined) {
  console.error(
    "usage: cpu-profile-report-cli.js <directory of .cpuprofile files and windows.json>",
  );
  process.exit(2);
}
const windows = JSON.parse(await readFile(join(dir, "windows.json"), "utf8")) as {
  label: string;
  startMicros?: number;
  endMicros?: number;
}[];
for (const file of (await readdir(dir)).filter((name) => name.endsWith(".cpuprofile")).sort()) {
  const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile;
  for (const window of windows) {
    const shares = reportCpuProfile(profile, window.startMicros, window.endMicros);
    if (shares.every(({ category, busyShare }) => category === "idle" || busyShare === 0)) continue;
    console.log(`\n${file} — ${window.label}`);
    for (const { category, share, busyShare } of shares) {
      console.log(
        `  ${(100 * share).toFixed(1).padStart(5)}% of samples` +
          `${category === "idle" ? "".padEnd(16) : `  ${(100 * busyShare).toFixed(1).padStart(5)}% of busy`}  ${category}`,
      );
    }
  }
}
