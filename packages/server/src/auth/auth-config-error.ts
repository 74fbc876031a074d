// The error of an auth configuration the server refuses to start with.
export class AuthConfigError extends Error {}
