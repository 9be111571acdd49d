export { buildHttpApp, type HttpAppOptions } from './app.js';
export { startHttpServer, type HttpServer, type HttpServerOptions } from './server.js';
export { resolveAuth, TOKEN_FILE, type AuthOptions, type AuthSettings } from './auth.js';
export { HttpError } from './errors.js';
