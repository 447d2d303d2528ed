/** A V8 CPU profile as `node --cpu-prof` writes it (the fields this report reads). */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
    readonly children?: readonly number[];
  }[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where a sample's time went: the first category, in this order, its stack matches. */
const CATEGORIES: readonly {
  readonly name: string;
  readonly matches: (frames: Frame[]) => boolean;
}[] = [
  { name: "idle", matches: ([leaf]) => leaf?.functionName === "(idle)" },
  { name: "garbage collection", matches: ([leaf]) => leaf?.functionName === "(garbage collector)" },
  {
    name: "signature checks (node:crypto verify)",
    matches: ([leaf]) => leaf?.functionName === "verifyOneShot",
  },
  {
    name: "signing and hashing (node:crypto)",
    matches: ([leaf]) => leaf?.url.startsWith("node:internal/crypto") ?? false,
  },
  { name: "Redis client (ioredis)", matches: (frames) => frames.some(inPackage("ioredis")) },
  {
    name: "Postgres client (pg, kysely)",
    matches: (frames) => frames.some(inPackage("pg", "kysely")),
  },
  { name: "schema validation (zod)", matches: (frames) => frames.some(inPackage("zod")) },
  {
    name: "web framework (express)",
    matches: (frames) => frames.some(inPackage("express", "router")),
  },
  {
    name: "HTTP and sockets (node:http, net, streams)",
    matches: (frames) =>
      frames.some(
        (frame) =>
          /^node:(_http|net|internal\/streams|internal\/stream_base)/.test(frame.url) ||
          frame.functionName === "writev" ||
          frame.functionName === "writeUtf8String",
      ),
  },
  {
    name: "AgentAuth core",
    matches: (frames) => frames.some((frame) => frame.url.includes("/packages/core/")),
  },
  {
    name: "AgentAuth state adapters",
    matches: (frames) => frames.some((frame) => frame.url.includes("/packages/state/")),
  },
  {
    name: "the service's own code",
    matches: (frames) => frames.some((frame) => frame.url.includes("/services/")),
  },
  { name: "V8 and native, unattributed", matches: ([leaf]) => leaf?.functionName === "(program)" },
];

interface Frame {
  readonly functionName: string;
  readonly url: string;
}

function inPackage(...names: string[]) {
  return (frame: Frame) => names.some((name) => frame.url.includes(`/node_modules/${name}/`));
}

/** One line of a report: a category's share of the window's samples. */
export interface CpuProfileShare {
  readonly category: string;
  /** Of all samples in the window. */
  readonly share: number;
  /** Of the samples that were not idle: how the busy time splits. */
  readonly busyShare: number;
}

/**
 * Splits the samples of `profile` taken between `startMicros` and `endMicros` (the clock of
 * `process.hrtime`, as the benchmarks' windows.json gives it) into categories, each sample going
 * to the first category its stack matches (see CATEGORIES): a rough map of where a service's
 * time goes under one load, from leaf-most to framework-level causes.
 */
export function reportCpuProfile(
  profile: CpuProfile,
  startMicros = Number.NEGATIVE_INFINITY,
  endMicros = Number.POSITIVE_INFINITY,
): CpuProfileShare[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parents.set(child, node.id);
  const byLeaf = new Map<number, string>();
  const categoryOf = (leaf: number): string => {
    const known = byLeaf.get(leaf);
    if (known !== undefined) return known;
    const frames: Frame[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parents.get(id)) {
      const node = nodes.get(id);
      if (node !== undefined) frames.push(node.callFrame);
    }
    const category = CATEGORIES.find((candidate) => candidate.matches(frames))?.name ?? "other";
    byLeaf.set(leaf, category);
    return category;
  };
  const counts = new Map<string, number>();
  let total = 0;
  let time = profile.startTime;
  profile.samples.forEach((sample, index) => {
    time += profile.timeDeltas[index] ?? 0;
    if (time < startMicros || time > endMicros) return;
    total++;
    const category = categoryOf(sample);
    counts.set(category, (counts.get(category) ?? 0) + 1);
  });
  const busy = total - (counts.get("idle") ?? 0);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([category, count]) => ({
      category,
      share: total === 0 ? 0 : count / total,
      busyShare: category === "idle" || busy === 0 ? 0 : count / busy,
    }));
}
