// Types for c2-stub.mjs (importing it does not start a server).
export const C2_IP: string;
export const PREBUILT_BODY: Buffer;
export const PREBUILT_SHA256: string;
export function stage2Script(seconds: number): string;
