/**
 * The native backend with the AVX2 kernels forced, so they are tested on AVX-512 machines too.
 * The addon reads QMM_NATIVE_ISA at its first call, and each test file runs in its own process.
 */
import { describeCallState } from "./call-state-suite.ts";
import { describeNativeConformance } from "./conformance-suite.ts";
import { describePanelFuzz } from "./panel-fuzz-suite.ts";

process.env.QMM_NATIVE_ISA = "avx2";

describeNativeConformance("AVX2 kernels forced");
describePanelFuzz("AVX2 kernels forced");
describeCallState("AVX2 kernels forced");
