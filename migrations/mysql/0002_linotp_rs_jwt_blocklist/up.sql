-- linotp-rs only (additive): revoked admin JWTs by their `jti`, so a logout on one node
-- holds on every node. Rows can be purged once expires_at has passed.

CREATE TABLE IF NOT EXISTS `linotp_rs_jwt_blocklist` (
	`jti` VARCHAR(255) NOT NULL,
	`expires_at` DATETIME NOT NULL,
	PRIMARY KEY (`jti`),
	INDEX `ix_linotp_rs_jwt_blocklist_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
