import {
	CAMPAIGN_OPT_OUT_FIELDS,
	optOutPairKey,
	resolveOptOut,
	validateOptOutMappings,
	type OptOutInput,
} from '../../../lib/sync';

const pair = { dynamicsField: 'donotbulkemail', campaignField: 'denyListEmail' };
const key = optOutPairKey(pair);

function input(
	d: boolean,
	c: boolean,
	over: Partial<OptOutInput> = {},
	times: [string, string] = ['2024-05-01T12:00:01Z', '2024-05-01T12:00:03Z'],
): OptOutInput {
	return {
		direction: 'bidirectional',
		mappings: [pair],
		contact: { values: { donotbulkemail: d }, modifiedOn: times[0] },
		profile: { values: { denyListEmail: c }, lastModified: times[1] },
		...over,
	};
}
const decide = (i: OptOutInput) => resolveOptOut(i).decisions[0];

describe('Opt-in/out', () => {
	it('offers the fixed Campaign field list', () => {
		expect(CAMPAIGN_OPT_OUT_FIELDS).toEqual([
			'denyList',
			'denyListEmail',
			'denyListFax',
			'denyListMobile',
			'denyListPhone',
			'denyListPostalMail',
			'denyListPushnotification',
			'ccpaOptOut',
		]);
		expect(
			validateOptOutMappings([{ dynamicsField: 'donotfax', campaignField: 'blackListFax' }])[0],
		).toMatch(/"blackListFax" is not a Campaign opt-out field/);
		expect(
			validateOptOutMappings([
				pair,
				{ dynamicsField: 'donotemail', campaignField: 'denyListEmail' },
			])[0],
		).toMatch(/"donotbulkemail" and "donotemail" both map/);
	});

	it('moves nothing when disabled', () => {
		expect(decide(input(true, false, { direction: 'disabled' }))).toMatchObject({
			write: 'none',
			reason: 'opt-in/out sync is disabled',
		});
	});

	it('Campaign → Dynamics overwrites Dynamics whenever the Campaign value changed, even a manual Dynamics edit', () => {
		const previous = { [key]: { dynamics: false, campaign: false } };
		expect(decide(input(true, true, { direction: 'campaignToDynamics', previous }))).toMatchObject({
			write: 'none',
			reason: 'in sync',
		});
		expect(decide(input(false, true, { direction: 'campaignToDynamics', previous }))).toEqual({
			...pair,
			write: 'dynamics',
			value: true,
			reason: 'campaign changed',
		});
		// Dynamics edited by hand, Campaign unchanged: left alone until Campaign changes.
		expect(decide(input(true, false, { direction: 'campaignToDynamics', previous }))).toMatchObject(
			{ write: 'none' },
		);
	});

	it('Dynamics → Campaign writes Campaign when Dynamics changed', () => {
		const previous = { [key]: { dynamics: false, campaign: false } };
		expect(decide(input(true, false, { direction: 'dynamicsToCampaign', previous }))).toEqual({
			...pair,
			write: 'campaign',
			value: true,
			reason: 'dynamics changed',
		});
	});

	describe('bidirectional', () => {
		const previous = { [key]: { dynamics: false, campaign: false } };
		it('takes the one side that changed', () => {
			expect(decide(input(true, false, { previous }))).toMatchObject({
				write: 'campaign',
				value: true,
				reason: 'dynamics changed',
			});
			expect(
				decide(input(false, true, { previous: { [key]: { dynamics: false, campaign: false } } })),
			).toMatchObject({ write: 'dynamics', value: true, reason: 'campaign changed' });
		});

		it('on a conflict, the newer change wins (campaign newer)', () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			expect(decide(input(false, true, { previous: p }))).toEqual({
				...pair,
				write: 'dynamics',
				value: true,
				reason:
					'conflict: newer wins (campaign 2024-05-01T12:00:03.000Z > dynamics 2024-05-01T12:00:01.000Z)',
			});
		});

		it('on a conflict, the newer change wins (dynamics newer, across time zones)', () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			const out = decide(
				input(false, true, { previous: p }, ['2024-05-01T14:00:05+02:00', '2024-05-01T12:00:03Z']),
			);
			expect(out).toMatchObject({
				write: 'campaign',
				value: false,
				reason:
					'conflict: newer wins (dynamics 2024-05-01T12:00:05.000Z > campaign 2024-05-01T12:00:03.000Z)',
			});
		});

		it('on a tie, the opted-out value wins, whichever side holds it', () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			const tie: [string, string] = ['2024-05-01T12:00:00Z', '2024-05-01T14:00:00+02:00'];
			expect(decide(input(false, true, { previous: p }, tie))).toMatchObject({
				write: 'dynamics',
				value: true,
				reason: 'conflict tie: opted-out wins',
			});
			expect(
				decide(
					input(true, false, { previous: { [key]: { dynamics: false, campaign: true } } }, tie),
				),
			).toMatchObject({ write: 'campaign', value: true, reason: 'conflict tie: opted-out wins' });
		});

		it('aligns both sides on the first sync, opted-out winning when times are unknown', () => {
			expect(decide(input(false, true, {}, ['', '']))).toMatchObject({
				write: 'dynamics',
				value: true,
				reason: 'conflict, a timestamp is missing: opted-out wins',
			});
		});
	});

	it('suppresses echoes: the value we wrote does not bounce back', () => {
		const first = resolveOptOut(
			input(true, false, { previous: { [key]: { dynamics: false, campaign: false } } }),
		);
		expect(first.decisions[0]).toMatchObject({ write: 'campaign', value: true });
		expect(first.next[key]).toEqual({ dynamics: true, campaign: true, wrote: 'campaign' });
		// Next run: Campaign now shows our write with a newer lastModified; nothing must move.
		const second = resolveOptOut(
			input(true, true, { previous: first.next }, ['2024-05-01T12:00:01Z', '2024-05-01T12:05:00Z']),
		);
		expect(second.decisions[0]).toMatchObject({ write: 'none', reason: 'echo of our own write' });
		expect(second.next[key]).toEqual({ dynamics: true, campaign: true });
		const third = resolveOptOut(input(true, true, { previous: second.next }));
		expect(third.decisions[0].reason).toBe('in sync');
	});

	it('treats a missing Dynamics value as not opted out, and needs both records', () => {
		expect(
			decide(
				input(false, false, {
					contact: { values: { donotbulkemail: null } },
					previous: { [key]: { dynamics: false, campaign: false } },
				}),
			),
		).toMatchObject({ write: 'none', reason: 'in sync' });
		expect(decide(input(true, false, { profile: undefined }))).toMatchObject({
			write: 'none',
			reason: 'no Campaign profile for this contact',
		});
	});
});
