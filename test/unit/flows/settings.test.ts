import { wholeNumberSetting } from '../../../lib/flows/settings';
import { SyncSettingsError } from '../../../lib/sync/errors';

describe('whole-number settings', () => {
	it('uses the fallback when the setting is absent or empty', () => {
		for (const raw of [undefined, null, '']) {
			expect(wholeNumberSetting('Options › Page Size', raw, { fallback: 500 })).toBe(500);
		}
	});

	it('reads a whole number in range, from a number or its text', () => {
		expect(wholeNumberSetting('Concurrency', 20, { fallback: 5, max: 100 })).toBe(20);
		expect(wholeNumberSetting('Concurrency', '7', { fallback: 5, max: 100 })).toBe(7);
		expect(wholeNumberSetting('Offset', 0, { fallback: 5, min: 0 })).toBe(0);
	});

	it('refuses what is out of range or not whole, naming the setting, never clamping', () => {
		const range = { fallback: 500, max: 5000, why: 'Dataverse returns at most 5,000 rows a page.' };
		expect(() => wholeNumberSetting('Options › Page Size', 6000, range)).toThrow(
			'Options › Page Size is 6000: it must be a whole number from 1 to 5,000. Dataverse returns at most 5,000 rows a page. Set it to a number in that range, or remove it to use 500.',
		);
		for (const raw of [0, -1, 1.5, 'ten', true, NaN]) {
			expect(() => wholeNumberSetting('Concurrency', raw, { fallback: 20 })).toThrow(
				/^Concurrency is .*: it must be a whole number at least 1\./,
			);
		}
		try {
			wholeNumberSetting('Concurrency', 0, { fallback: 20 });
		} catch (error) {
			expect(error).toBeInstanceOf(SyncSettingsError);
			expect((error as SyncSettingsError).setting).toBe('Concurrency');
		}
	});
});
