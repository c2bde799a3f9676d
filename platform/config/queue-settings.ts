/** Deliveries a feed's queue makes before a message moves to the dead-letter queue (AWS and local alike). */
export const MAX_RECEIVE_COUNT = 5;
