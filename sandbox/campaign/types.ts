/** Request and response shapes of the Campaign sandbox's admin API (`/_sandbox/...`). */
import type { FaultSettings } from '../common/server';
import type { DeliverySummary, SimulateDeliveryOptions } from './generate';
import type { ResourceDefinition } from './schema';

export type { FaultSettings, DeliverySummary, SimulateDeliveryOptions, ResourceDefinition };
export type { FieldDefinition, FilterDefinition, FieldType } from './schema';

/** A record as the admin API shows it: its PKey and stored values (links as PKeys). */
export interface AdminRecord {
	PKey: string;
	[field: string]: unknown;
}

export interface ResetRequest {
	/** Seed of PKeys and generated data. */
	seed?: number;
	/** Generate this many profiles after the reset. */
	profiles?: number;
}

export interface GenerateProfilesRequest {
	count: number;
	seed?: number;
	externalIds?: string[];
}

export interface GenerateProfilesResponse {
	created: number;
	/** PKeys of the first 1,000 created profiles. */
	pkeys: string[];
}

export interface InsertRecordsRequest {
	records: Record<string, unknown>[];
	/** Skip the unique-key check, e.g. to plant a duplicated key for duplicate-detection tests. */
	bypassUnique?: boolean;
}

export interface InsertRecordsResponse {
	records: AdminRecord[];
}

export interface DumpResponse {
	resource: string;
	count: number;
	records: AdminRecord[];
}

export type SimulateDeliveryRequest = SimulateDeliveryOptions;
export type SimulateDeliveryResponse = DeliverySummary;

/** Service behaviour settable at run time (`/_sandbox/options`); a reset restores the defaults. */
export interface CampaignOptions {
	/** Campaign's XtkBigTableThreshold: larger tables page only with `_forcePagination=true`. */
	bigTableThreshold: number;
	/** `v8`: answer as a Campaign v8 tenant migrated from Campaign Standard. */
	flavor: 'standard' | 'v8';
}

export interface LatencyRequest {
	ms: number;
}

export interface CountersResponse {
	counters: Record<string, number>;
}

export interface ExpireTokensResponse {
	expired: number;
}
