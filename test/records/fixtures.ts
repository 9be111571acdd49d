// Byte vectors shared by the record tests.

/**
 * A gzip v2 batch recorded by kafkajs against a real broker (LogAppendTime topic): one record,
 * key "key-0". From kafkajs src/protocol/recordBatch/fixtures/v0_recordbatch.json (MIT License,
 * Copyright (c) 2018 Túlio Ornelas).
 */
export const KAFKAJS_GZIP_BATCH = Buffer.from(
  'AAAAAAAAAAAAAABxAAAAAALkwySlAAkAAAAAAAABc+31/6cAAAFz7fX/yf//////////AAAAAAAAAAAAAR+LCAAAAAAAABMLY2Bg4MpOrdQ1cChLzClN1TXQNTIwMtA1sNA1NAkxNLcyNLYysNAzszCKYgAAtePxpywAAAA=',
  'base64',
);

/**
 * A v2 batch from kafkajs whose records section is a zstd frame (its attributes say
 * uncompressed, so only the payload is used as a zstd vector). From kafkajs
 * src/protocol/recordBatch/fixtures/v0_recordbatch_zstd.json (MIT License, Copyright (c) 2018
 * Túlio Ornelas).
 */
export const KAFKAJS_ZSTD_BATCH = Buffer.from(
  'AAAAAAAAAAAAAAFeAAADjwIqzTn0AAAAAAAAAAABdQN7Q1MAAAF1A3tDU///////////AAAAAAAAAAAAASi1L/0AWCUJAJaZQSSgJUkH/////+eqb7NJuXfbUl5K+q2lvRPJ6fiB02Sgan9angQ6ADYANgBoSU4+7EV3jLHkTMq7R0qcOsAX12AfTz8nVZRoHE52owO0qeJT0ZUjNZnOa4yOQEECY3QlQFEUABAETbjnmH26Nf2GqVKydsfCD+SESxJhOmt6HjowdTOi5nZTUjU3FwuUUHl4qZYZytToGp2BKsVsKLGO6rRKSSvWDVloui7lo07JxRcjaiw8WQ5Re/HIxHzA6BjVXqNErzGr6SmgBKw8HDljbrQchcnkktfcqvhSzhQtkZNJ6+OFwvV5aJ2SwzJ1gGbyQ6d2Viws8pOjWMM1xhXtqSiNxyMxoIQIANzaLA8eLdpkX0kxfBVtACtGK12MQ39DiAI=',
  'base64',
);
