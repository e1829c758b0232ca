/**
 * Outside Lambda (the local runtime, tests, benchmarks) traces are off, but importing the X-Ray
 * SDK in its default automatic mode still installs an async hook that tracks every promise
 * (about 6% of the local runtime's CPU, profiled under load). Manual mode installs none. In
 * Lambda nothing changes. Imported first by telemetry.ts, so it runs before the SDK loads.
 */
if (!process.env.AWS_LAMBDA_FUNCTION_NAME) process.env.AWS_XRAY_MANUAL_MODE ??= 'true';
