/** The native backend with the kernel set the CPU supports (AVX-512 on this project's CI). */
import { describeCallState } from "./call-state-suite.ts";
import { describeNativeConformance } from "./conformance-suite.ts";
import { describePanelFuzz } from "./panel-fuzz-suite.ts";

describeNativeConformance("default kernels");
describePanelFuzz("default kernels");
describeCallState("default kernels");
