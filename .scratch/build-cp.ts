import { pino } from "pino";
import { ensureControlPlaneBinaries } from "../src/devcluster/binaries.ts";
import { CONTROL_PLANE_VERSIONS, defaultCacheRoot } from "../src/devcluster/versions.ts";
await ensureControlPlaneBinaries({ cacheRoot: defaultCacheRoot(process.env), versions: CONTROL_PLANE_VERSIONS, logger: pino() });
