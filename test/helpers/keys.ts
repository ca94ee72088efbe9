/** API keys of two tenants (alice, bob) and an admin (tenant ops), and `API_KEYS` naming them. */
export const KEYS = {
  aliceClient: 'alice-client-key-0123456789',
  aliceWorker: 'alice-worker-key-0123456789',
  bobClient: 'bob-client-key-0123456789',
  bobWorker: 'bob-worker-key-0123456789',
  admin: 'admin-key-0123456789',
};

export const API_KEYS = [
  `${KEYS.aliceClient}:alice:client`,
  `${KEYS.aliceWorker}:alice:worker`,
  `${KEYS.bobClient}:bob:client`,
  `${KEYS.bobWorker}:bob:worker`,
  `${KEYS.admin}:ops:admin`,
].join(',');
