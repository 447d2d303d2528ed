// @agentauth/demo-agent — the demo agent's flow as a function (`runDemo`); `main.ts` is its CLI.

export type { DemoOptions, DemoOutcome } from "./run-demo.js";
export { explainDemoFailure, runDemo } from "./run-demo.js";
