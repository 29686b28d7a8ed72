-- linotp-rs only (additive): revoked admin JWTs by their `jti`, so a logout on one node
-- holds on every node. Rows can be purged once expires_at has passed.

CREATE TABLE linotp_rs_jwt_blocklist (
	jti VARCHAR(255) NOT NULL,
	expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
	PRIMARY KEY (jti)
);
CREATE INDEX ix_linotp_rs_jwt_blocklist_expires_at ON linotp_rs_jwt_blocklist (expires_at);
