import { readApiVersionsRequest, writeApiVersionsResponse, type ApiVersionsRequest, type ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { defineHandler } from './types.js';
import { supportedApis } from './registry.js';

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  read: readApiVersionsRequest,
  write: writeApiVersionsResponse,
  handle() {
    return { errorCode: ErrorCode.NONE, apiKeys: supportedApis(), throttleTimeMs: 0, finalizedFeaturesEpoch: -1 };
  },
});
