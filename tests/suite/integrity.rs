use crate::common;
