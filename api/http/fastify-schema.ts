// Documentation keywords the routes put in their schemas for the OpenAPI generator.
export {};

declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
    security?: unknown[];
    /** Content type of the 200 response when it is not JSON. */
    produces?: string;
    hide?: boolean;
  }
}
