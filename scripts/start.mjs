// `npm start` (after ensure-deps, `tsc -b` and the approval app's build): the registry (serving
// the approval app), the verifier and the example service providers, with prefixed logs, the
// URLs and the first human's enrolment link. On embedded defaults the registry and the verifier
// share one process (examples/embedded-platform); with DATABASE_URL and REDIS_URL each runs as
// its own service. Ctrl+C stops everything. See docs/running.md.
import { fileURLToPath } from "node:url";
import { launch } from "../examples/embedded-platform/dist/src/launcher/launch.js";

const code = await launch({
  root: fileURLToPath(new URL("..", import.meta.url)),
  env: process.env,
});
process.exit(code);
