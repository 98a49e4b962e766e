export * from './types';
export * from './hooks';
export * from './retry';
export * from './limiter';
export * from './url';
export * from './wire';
export * from './n8n';
