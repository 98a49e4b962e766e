/**
 * Reading the nodes' number settings, alike in every node. Out-of-range numbers only get here
 * through imported or API-made workflows (the editor enforces the bounds): they are refused with
 * a message naming the setting, never replaced silently by another value.
 */
import { describeValue, SyncSettingsError } from '../sync/errors';

export interface WholeNumberRange {
	/** Used when the setting is absent or empty. */
	fallback: number;
	/** Default 1. */
	min?: number;
	/** Default: no upper bound. */
	max?: number;
	/** Why the bound is what it is, shown with the error. */
	why?: string;
}

/** A whole-number setting within its range; `setting` names it as the UI does ("Options › Page Size"). */
export function wholeNumberSetting(setting: string, raw: unknown, range: WholeNumberRange): number {
	if (raw === undefined || raw === null || raw === '') return range.fallback;
	const value = Number(raw);
	const min = range.min ?? 1;
	const max = range.max ?? Number.MAX_SAFE_INTEGER;
	if (typeof raw === 'boolean' || !Number.isInteger(value) || value < min || value > max) {
		const bounds =
			max === Number.MAX_SAFE_INTEGER
				? `at least ${min.toLocaleString('en-US')}`
				: `from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
		const advice = `Set it to a number in that range, or remove it to use ${range.fallback.toLocaleString('en-US')}.`;
		throw new SyncSettingsError(
			`${setting} is ${describeValue(raw)}: it must be a whole number ${bounds}. ${range.why ? `${range.why} ` : ''}${advice}`,
			setting,
		);
	}
	return value;
}

/** How a node reads a resource locator nested in a collection (extractValue reads top-level ones). */
export function locatorValue(value: unknown): unknown {
	if (value !== null && typeof value === 'object' && 'value' in value) {
		return (value as { value: unknown }).value;
	}
	return value;
}
