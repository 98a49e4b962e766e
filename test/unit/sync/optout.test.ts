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
			rule: 'campaignChanged',
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
			rule: 'dynamicsChanged',
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
				rule: 'conflictNewerWins',
				dates: { dynamics: '2024-05-01T12:00:01.000Z', campaign: '2024-05-01T12:00:03.000Z' },
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
				rule: 'conflictNewerWins',
				dates: { dynamics: '2024-05-01T12:00:05.000Z', campaign: '2024-05-01T12:00:03.000Z' },
			});
		});

		it('on a tie, the opted-out value wins, whichever side holds it', () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			const tie: [string, string] = ['2024-05-01T12:00:00Z', '2024-05-01T14:00:00+02:00'];
			const same = { dynamics: '2024-05-01T12:00:00.000Z', campaign: '2024-05-01T12:00:00.000Z' };
			expect(decide(input(false, true, { previous: p }, tie))).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'conflictOptedOutWins',
				dates: same,
				reason: 'conflict tie: opted-out wins',
			});
			expect(
				decide(
					input(true, false, { previous: { [key]: { dynamics: false, campaign: true } } }, tie),
				),
			).toMatchObject({
				write: 'campaign',
				value: true,
				rule: 'conflictOptedOutWins',
				dates: same,
			});
		});

		it('on a conflict with a change date missing, the opted-out value wins, the date shown absent', () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			const out = decide(input(false, true, { previous: p }, ['', '2024-05-01T12:00:03Z']));
			expect(out).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'conflictOptedOutWins',
				dates: { campaign: '2024-05-01T12:00:03.000Z' },
			});
			expect(out.dates).not.toHaveProperty('dynamics');
		});

		it('aligns both sides on the first cycle with opted out winning, whatever the dates', () => {
			// The profile was written after the contact (it always is, by the first workflow).
			// No memory: nothing opted out was seen before, so the opted-out side is the one that moved.
			expect(decide(input(true, false))).toMatchObject({
				write: 'campaign',
				value: true,
				rule: 'dynamicsChanged',
			});
			expect(
				decide(input(false, true, {}, ['2024-05-02T00:00:00Z', '2024-05-01T00:00:00Z'])),
			).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'campaignChanged',
			});
		});

		it('opts in on the other side only after seeing this side opt in', () => {
			const both = { [key]: { dynamics: true, campaign: true } };
			expect(decide(input(false, true, { previous: both }))).toMatchObject({
				write: 'campaign',
				value: false,
				rule: 'dynamicsChanged',
			});
			// Sides apart with no change seen (e.g. left so by Campaign → Dynamics): opted out stays.
			const apart = { [key]: { dynamics: false, campaign: true } };
			expect(decide(input(false, true, { previous: apart }))).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'optedOutWins',
			});
		});

		it("decides a conflict by the date of that flag in Campaign, not the profile's", () => {
			const p = { [key]: { dynamics: true, campaign: false } };
			const i = input(false, true, { previous: p }, [
				'2024-05-01T12:00:05Z',
				'2024-05-01T12:00:09Z',
			]);
			i.profile!.flagModified = { denyListEmail: '2024-05-01T12:00:01Z' };
			expect(decide(i)).toMatchObject({
				write: 'campaign',
				value: false,
				rule: 'conflictNewerWins',
			});
		});

		it('never moves a flag on a value the answer did not carry', () => {
			const both = { [key]: { dynamics: true, campaign: true } };
			expect(decide(input(true, true, { previous: both, profile: { values: {} } }))).toMatchObject({
				write: 'none',
				rule: 'unknownValue',
			});
		});
	});

	describe('Campaign → Dynamics', () => {
		it('on the first cycle moves an opt-out, never an opt-in nobody was seen making', () => {
			const direction = 'campaignToDynamics' as const;
			expect(decide(input(true, false, { direction }))).toMatchObject({
				write: 'none',
				rule: 'notMoved',
			});
			expect(decide(input(false, true, { direction }))).toMatchObject({
				write: 'dynamics',
				value: true,
				rule: 'campaignChanged',
			});
			// Seen opting in, in Campaign: Dynamics follows.
			const both = { [key]: { dynamics: true, campaign: true } };
			expect(decide(input(true, false, { direction, previous: both }))).toMatchObject({
				write: 'dynamics',
				value: false,
				rule: 'campaignChanged',
			});
		});
	});

	it('keeps every opt-out over any sequence of cycles where nobody opts in', () => {
		// A small deterministic generator: users only ever opt out; cycles see any interleaving.
		let seed = 7;
		const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
		for (let trial = 0; trial < 300; trial++) {
			let d = random() < 0.5;
			let c = random() < 0.5;
			let previous: Record<string, { dynamics: boolean; campaign: boolean }> | undefined;
			const everOut = { d, c };
			for (let cycle = 0; cycle < 6; cycle++) {
				if (random() < 0.3) d = true;
				if (random() < 0.3) c = true;
				everOut.d ||= d;
				everOut.c ||= c;
				const times: [string, string] = [
					new Date(Date.UTC(2024, 0, 1, 0, 0, Math.floor(random() * 60))).toISOString(),
					new Date(Date.UTC(2024, 0, 1, 0, 0, Math.floor(random() * 60))).toISOString(),
				];
				const result = resolveOptOut(input(d, c, { previous }, times));
				const decision = result.decisions[0];
				if (decision.write === 'dynamics') d = decision.value!;
				if (decision.write === 'campaign') c = decision.value!;
				previous = result.next;
				if (everOut.d || everOut.c) {
					expect([d, c, decision.rule]).toEqual([true, true, decision.rule]);
				}
			}
		}
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
