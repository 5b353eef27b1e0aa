/** Where the health listener serves Prometheus metrics; the config refuses a health path here. */
export const METRICS_PATH = '/metrics';
