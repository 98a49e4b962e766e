import {
	CampaignClient,
	campaignQuery,
	parseResourcePath,
	readCampaignError,
} from '../../../lib/campaign/client';
import type { Transport } from '../../../lib/http/types';

const noTransport: Transport = {
	request: () => Promise.reject(new Error('no request expected')),
};
const BASE = 'https://mc.adobe.io/acme/campaign';

describe('Campaign URLs', () => {
	it('accepts api/resource paths and refuses anything else', () => {
		expect(parseResourcePath('profileAndServicesExt/cusLoyaltyCard')).toEqual({
			api: 'profileAndServicesExt',
			name: 'cusLoyaltyCard',
		});
		for (const bad of [
			'profile',
			'other/profile',
			'profileAndServices/pro file',
			'profileAndServices/a/b',
			'../x',
		]) {
			expect(() => parseResourcePath(bad)).toThrow(/Invalid Campaign resource/);
		}
	});

	it('encodes filter parameters so they cannot add parameters', () => {
		expect(campaignQuery({ externalId: 'a&_lineCount=1 #x', skip: undefined, n: 5 })).toBe(
			'?externalId=a%26_lineCount%3D1%20%23x&n=5',
		);
	});

	it('addresses records by encoded PKey below the API base', () => {
		const client = new CampaignClient({ transport: noTransport, apiBaseUrl: `${BASE}/` });
		expect(client.apiBase).toBe(BASE);
		expect(client.recordHref('profileAndServicesExt/profile', '@a/b+c')).toBe(
			`${BASE}/profileAndServicesExt/profile/@a%2Fb%2Bc`,
		);
		expect(
			() => new CampaignClient({ transport: noTransport, apiBaseUrl: 'https://mc.adobe.io' }),
		).toThrow(/Invalid Campaign API base URL/);
	});

	it('never sends a request to a href outside the API base', async () => {
		const client = new CampaignClient({ transport: noTransport, apiBaseUrl: BASE });
		await expect(
			client.get('https://evil.example/acme/campaign/profileAndServices/profile/@x'),
		).rejects.toThrow(/outside/);
		await expect(client.get(`${BASE}evil/profileAndServices/profile/@x`)).rejects.toThrow(
			/outside/,
		);
	});

	it('refuses malformed filter names before sending', async () => {
		const client = new CampaignClient({ transport: noTransport, apiBaseUrl: BASE });
		for (const bad of ['../x', 'by Email', '', 'a/b']) {
			await expect(
				client.findByFilter('profileAndServicesExt/profile', bad, { externalId: 'x' }),
			).rejects.toThrow(/Invalid Campaign filter name/);
		}
	});
});

describe('Campaign errors', () => {
	it("reads Campaign's RST code from the message", () => {
		expect(
			readCampaignError({ code: 404, message: 'RST-360011 An error has occurred.' }, 404),
		).toEqual({
			code: 'RST-360011',
			message: 'RST-360011 An error has occurred.',
		});
	});

	it("reads the Adobe I/O gateway's error_code", () => {
		expect(
			readCampaignError({ error_code: '401013', message: 'Oauth token is not valid' }, 401),
		).toEqual({
			code: '401013',
			message: 'Oauth token is not valid',
		});
	});

	it('falls back to the text or the status', () => {
		expect(readCampaignError('Service Unavailable', 503)).toEqual({
			code: '',
			message: 'Service Unavailable',
		});
		expect(readCampaignError(undefined, 500)).toEqual({ code: '', message: 'HTTP 500' });
	});
});
